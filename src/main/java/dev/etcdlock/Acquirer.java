package dev.etcdlock;

import com.google.protobuf.ByteString;
import dev.etcdlock.internal.events.LockLabel;
import dev.etcdlock.internal.lock.Waiter;
import dev.etcdlock.internal.lock.Waits;
import dev.etcdlock.internal.lock.LockQueue;
import dev.etcdlock.internal.lock.QueuePolicy;
import dev.etcdlock.internal.lock.SessionLocks;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.Lock;

/**
 * The lock of every queue recipe: the mutex, both sides of the read-write lock (which are this class, behind
 * {@link DistributedLock}) and the semaphore. Its waits are {@link Waits}', shared with {@link Election}.
 */
final class Acquirer implements DistributedLock {
    private final Session session;
    private final SessionLocks locks;
    private final String name;
    /** What is acquired, before the name in messages: "lock", "read lock", "permit of semaphore". */
    private final String kind;
    private final QueuePolicy policy;
    /** What the events say this is. */
    private final LockLabel label;
    private final Waits<LockHandle> waits;

    Acquirer(Session session, SessionLocks locks, String name, LockListener.Kind recipe, String kind,
            String noWaitHint, QueuePolicy policy) {
        this.session = session;
        this.locks = locks;
        this.name = name;
        this.kind = kind;
        this.policy = policy;
        this.label = new LockLabel(recipe, name);
        this.waits = new Waits<>(this::start, this::handle, LockHandle::close, new Waits.Words("waiter",
                what() + " not acquired within ", "interrupted while waiting for " + what(), noWaitHint, what()));
    }

    /**
     * The queue prefix of a recipe's name ({@code name + "/"}), after checking the name.
     *
     * @throws IllegalArgumentException when the name is empty, contains NUL or is over {@link Mutex#MAX_NAME_BYTES}
     */
    static ByteString prefixOf(String name) {
        Objects.requireNonNull(name, "name");
        if (name.isEmpty()) {
            throw new IllegalArgumentException("lock name must not be empty; use a key prefix like /my-app/locks/x");
        }
        if (name.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("lock name must not contain NUL characters: " + name.replace('\0', '?'));
        }
        int bytes = name.getBytes(StandardCharsets.UTF_8).length;
        if (bytes > Mutex.MAX_NAME_BYTES) {
            throw new IllegalArgumentException("lock name is " + bytes + " bytes; the limit is " + Mutex.MAX_NAME_BYTES
                    + " (every lock request carries the name several times, and etcd refuses requests over 1.5 MiB"
                    + " by default): use a short key prefix like /my-app/locks/x");
        }
        return ByteString.copyFromUtf8(name + "/");
    }

    @Override
    public String name() {
        return name;
    }

    private String what() {
        return kind + " " + name;
    }

    @Override
    public LockHandle lock() {
        return waits.await();
    }

    @Override
    public LockHandle lock(Duration timeout) {
        return waits.await(timeout);
    }

    @Override
    public LockHandle lockInterruptibly() throws InterruptedException {
        return waits.awaitInterruptibly();
    }

    @Override
    public Optional<LockHandle> tryLock() {
        session.checkOpen();
        try {
            LockQueue.Held held = locks.tryLock(policy, label).join();
            return held == null ? Optional.empty() : Optional.of(handle(held));
        } catch (RuntimeException e) {
            throw waits.failure(e);
        }
    }

    @Override
    public CompletableFuture<LockHandle> lockAsync() {
        return waits.awaitAsync();
    }

    @Override
    public Lock asLock() {
        return new LockView();
    }

    private Waiter start() {
        session.checkOpen();
        return locks.lock(policy, label);
    }

    private LockHandle handle(LockQueue.Held held) {
        return LockHandle.acquired(name, locks, held);
    }

    @Override
    public String toString() {
        return what() + " through " + session;
    }

    /** The {@link Lock} view: one handle at a time, as a session takes one place per queue anyway. */
    private final class LockView implements Lock {
        private final AtomicReference<LockHandle> held = new AtomicReference<>();

        @Override
        public void lock() {
            held.set(Acquirer.this.lock());
        }

        @Override
        public void lockInterruptibly() throws InterruptedException {
            held.set(Acquirer.this.lockInterruptibly());
        }

        @Override
        public boolean tryLock() {
            Optional<LockHandle> handle = Acquirer.this.tryLock();
            handle.ifPresent(held::set);
            return handle.isPresent();
        }

        @Override
        public boolean tryLock(long time, TimeUnit unit) throws InterruptedException {
            // Lock's contract: no wait at all when the time is not positive
            Optional<LockHandle> handle = time <= 0 ? Acquirer.this.tryLock() : waits.awaitAtMost(time, unit);
            handle.ifPresent(held::set);
            return handle.isPresent();
        }

        /** @throws IllegalMonitorStateException when not locked through this view */
        @Override
        public void unlock() {
            LockHandle handle = held.getAndSet(null);
            if (handle == null) {
                throw new IllegalMonitorStateException(what() + " is not held through this Lock view");
            }
            handle.unlock();
        }

        /** @throws UnsupportedOperationException always: etcd offers no condition variables */
        @Override
        public Condition newCondition() {
            throw new UnsupportedOperationException("conditions are not supported by the distributed " + what()
                    + "; watch a key for the condition instead");
        }

        @Override
        public String toString() {
            return "Lock view of " + Acquirer.this;
        }
    }
}
