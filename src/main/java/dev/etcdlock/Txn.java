package dev.etcdlock;

import com.google.protobuf.ByteString;
import dev.etcdlock.internal.kv.Kv;
import dev.etcdlock.internal.lock.LockQueue;
import dev.etcdlock.internal.proto.DeleteRangeRequest;
import dev.etcdlock.internal.proto.PutRequest;
import dev.etcdlock.internal.proto.RequestOp;
import dev.etcdlock.internal.proto.TxnRequest;
import dev.etcdlock.internal.transport.EtcdErrors;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * Writes to etcd that happen only while locks are still held, atomically, in one round trip:
 *
 * <pre>{@code
 * boolean written = client.txn().ifHeld(lock).put("/my-app/config", json).commit();
 * }</pre>
 *
 * A holder that lost its lock without noticing (paused past its TTL, say) cannot overwrite the work of the next
 * holder: etcd checks that the lock key is still the one created at the holder's fencing token when it applies the
 * writes. Not thread-safe; build and commit it on one thread. Nothing is sent before {@link #commit()}, and a Txn is
 * committed once. Without any guard, the writes are applied unconditionally.
 */
public final class Txn {
    private final Kv kv;
    private final TxnRequest.Builder request = TxnRequest.newBuilder();
    private boolean committed;

    Txn(Kv kv) {
        this.kv = kv;
    }

    /**
     * Applies the writes only if {@code lock} is still held: its key still has the create revision of its token.
     * A lock released or lost before the commit makes the commit return false. May be called for several locks.
     *
     * @param lock a handle from any session of any client on the same etcd cluster
     * @return this transaction
     * @throws NullPointerException when {@code lock} is null
     */
    public Txn ifHeld(LockHandle lock) {
        Objects.requireNonNull(lock, "lock");
        LockQueue.Held held = lock.held();
        request.addCompare(LockQueue.ownership(held.key(), held.createRevision()));
        return this;
    }

    /**
     * Applies the writes only while {@code leadership}'s term lasts: its leader key still has the create revision of
     * its fencing token. A leader deposed without knowing it (paused past its TTL) writes nothing.
     *
     * @param leadership a term won through any session of any client on the same etcd cluster
     * @return this transaction
     * @throws NullPointerException when {@code leadership} is null
     */
    public Txn ifLeader(Leadership leadership) {
        Objects.requireNonNull(leadership, "leadership");
        LockQueue.Held held = leadership.held();
        request.addCompare(LockQueue.ownership(held.key(), held.createRevision()));
        return this;
    }

    /**
     * Puts {@code value} (UTF-8) at {@code key}, without a lease: the key outlives the lock.
     *
     * @param key the key, as UTF-8 text
     * @param value the value
     * @return this transaction
     * @throws IllegalArgumentException when the key is empty
     * @throws NullPointerException when either is null
     */
    public Txn put(String key, String value) {
        Objects.requireNonNull(value, "value");
        return put(key, value.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Puts {@code value} at {@code key}, without a lease: the key outlives the lock.
     *
     * @param key the key, as UTF-8 text
     * @param value the value; copied, so later changes to the array are not seen
     * @return this transaction
     * @throws IllegalArgumentException when the key is empty
     * @throws NullPointerException when either is null
     */
    public Txn put(String key, byte[] value) {
        Objects.requireNonNull(value, "value");
        request.addSuccess(RequestOp.newBuilder().setRequestPut(
                PutRequest.newBuilder().setKey(key(key)).setValue(ByteString.copyFrom(value))));
        return this;
    }

    /**
     * Deletes {@code key} (that one key, not a prefix).
     *
     * @param key the key, as UTF-8 text
     * @return this transaction
     * @throws IllegalArgumentException when the key is empty
     * @throws NullPointerException when the key is null
     */
    public Txn delete(String key) {
        request.addSuccess(RequestOp.newBuilder().setRequestDeleteRange(
                DeleteRangeRequest.newBuilder().setKey(key(key))));
        return this;
    }

    /**
     * Sends the transaction, once (it is a write: when etcd cannot be reached it is not re-sent), and waits for the
     * answer within the client's request timeout; not interruptible. A lost lease needs no check here: its guard
     * fails in etcd.
     *
     * @return true when every guard held and the writes were applied; false when a lock was no longer held, in
     *     which case nothing was written
     * @throws EtcdUnavailableException when etcd could not be reached; {@code isOutcomeUnknown()} tells whether the
     *     writes may have been applied anyway
     * @throws EtcdRequestException when etcd refused it (permission denied, too many operations, too large)
     * @throws ClientClosedException when the client is closed
     * @throws IllegalStateException when committed twice (also after a commit that threw)
     */
    public boolean commit() {
        if (committed) {
            throw new IllegalStateException("this Txn was already committed; build a new one");
        }
        committed = true;
        try {
            return kv.txn(request.build()).join().getSucceeded();
        } catch (RuntimeException e) {
            throw EtcdErrors.toException(e, "Txn", true);
        }
    }

    private static ByteString key(String key) {
        Objects.requireNonNull(key, "key");
        if (key.isEmpty()) {
            throw new IllegalArgumentException("key must not be empty");
        }
        return ByteString.copyFromUtf8(key);
    }
}
