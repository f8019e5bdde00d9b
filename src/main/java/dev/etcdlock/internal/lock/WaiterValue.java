package dev.etcdlock.internal.lock;

import com.google.protobuf.ByteString;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;

/**
 * What a waiter key carries. It decides how the key's cleanup recognises the attempt's own version and what the
 * enqueue Txn checks (see {@link LockQueue} on why cleanup never deletes another attempt's key).
 */
public sealed interface WaiterValue {

    /** A random nonce per attempt (mutex, read-write lock): cleanup deletes the key only while it carries it. */
    record Nonce() implements WaiterValue {
    }

    /**
     * The recipe's value (an election's candidate value, as Go's Election stores it): two attempts of a session would
     * write the same bytes, so cleanup deletes only the version at the attempt's own create revision.
     */
    record Fixed(ByteString value) implements WaiterValue {
        public Fixed {
            Objects.requireNonNull(value, "value");
        }
    }

    /**
     * The recipe's value, which every key of the queue must carry (a semaphore's permit count): the enqueue Txn checks
     * it, and a queue whose keys carry another value fails the attempt, nothing written, with what {@code mismatch}
     * makes of the value found. Cleanup as for {@link Fixed}.
     */
    record Agreed(ByteString value, Function<ByteString, RuntimeException> mismatch) implements WaiterValue {
        public Agreed {
            Objects.requireNonNull(value, "value");
            Objects.requireNonNull(mismatch, "mismatch");
        }
    }

    static WaiterValue nonce() {
        return new Nonce();
    }

    /** The bytes one attempt writes: a fresh nonce for {@link Nonce}, else the recipe's value. */
    default ByteString forAttempt() {
        if (this instanceof Fixed fixed) {
            return fixed.value();
        }
        if (this instanceof Agreed agreed) {
            return agreed.value();
        }
        return ByteString.copyFromUtf8(Long.toHexString(ThreadLocalRandom.current().nextLong()));
    }
}
