package dev.etcdlock;

import com.google.protobuf.ByteString;
import dev.etcdlock.internal.lock.QueuePolicy;
import dev.etcdlock.internal.lock.SessionLocks;

/**
 * A distributed read-write lock on a name, through a {@link Session}: many readers at once, or one writer alone.
 *
 * <pre>{@code
 * ReadWriteLock config = session.readWriteLock("/my-app/locks/config");
 * try (LockHandle read = config.readLock().lock(Duration.ofSeconds(10))) {
 *     return load();
 * }
 * try (LockHandle write = config.writeLock().lock(Duration.ofSeconds(10))) {
 *     store(newConfig, write.fencingToken());
 * }
 * }</pre>
 *
 * <p>Both sides are {@link DistributedLock}s, with the mutex's methods and the same ends on timeout, interruption
 * (the waiter key is removed first), lease loss ({@link LeaseLostException} at once; a session whose lease is lost or
 * no longer certainly valid is never granted either side), etcd failure and a closed session or client, as
 * {@link DistributedLock} and <a href="package-summary.html#waits">how a wait ends</a> describe them.
 *
 * <p><b>Order.</b> One queue under the name, in the order the waiters came (by etcd create revision): a writer waits
 * for every key created before its own, a reader for every earlier key that is not a reader's. So a writer waits only
 * for the readers already there, and readers that come after a waiting writer wait behind it: writers do not starve.
 *
 * <p><b>Keys.</b> {@code name/read/<lease id in hex>} and {@code name/write/<lease id in hex>}, attached to the
 * session's lease, value a nonce per attempt. Any other key under {@code name/} blocks readers as a writer does,
 * so a Go {@code concurrency.Mutex} or {@code etcdctl lock} on the same name acts as a writer.
 *
 * <p><b>No upgrade, no downgrade.</b> A session takes one place per name at a time: its threads asking for the same
 * side take turns, and asking for the other side while the session holds or waits for one fails at once with
 * {@link IllegalStateException} (waiting would be waiting for itself). Release the read lock before taking the write
 * lock, or use another session.
 *
 * <p>Thread-safe; no I/O until a side is acquired.
 */
public final class ReadWriteLock {
    private final Session session;
    private final String name;
    private final Acquirer read;
    private final Acquirer write;

    ReadWriteLock(Session session, SessionLocks locks, String name) {
        ByteString prefix = Acquirer.prefixOf(name);
        ByteString readers = prefix.concat(ByteString.copyFromUtf8("read/"));
        ByteString writers = prefix.concat(ByteString.copyFromUtf8("write/"));
        this.session = session;
        this.name = name;
        this.read = new Acquirer(session, locks, name, LockListener.Kind.READ_LOCK, "read lock",
                "use readLock().tryLock() to take it only if no writer holds or waits",
                new QueuePolicy(prefix, readers, QueuePolicy.Rule.sharedWith(readers), QueuePolicy.Value.nonce()));
        this.write = new Acquirer(session, locks, name, LockListener.Kind.WRITE_LOCK, "write lock",
                "use writeLock().tryLock() to take it only if it is free",
                new QueuePolicy(prefix, writers, QueuePolicy.Rule.exclusive(), QueuePolicy.Value.nonce()));
    }

    /**
     * The lock's name, a key prefix. No I/O.
     *
     * @return the name
     */
    public String name() {
        return name;
    }

    /**
     * The shared side: held by any number of sessions at once, while no writer holds or waits before them. Its
     * {@link DistributedLock#tryLock() tryLock()} takes two round trips when the answer is no (its key is put, then
     * deleted). No I/O.
     *
     * @return the read lock, the same object on every call
     */
    public DistributedLock readLock() {
        return read;
    }

    /**
     * The exclusive side: held by one session at a time, alone, after every reader and writer that came before. No
     * I/O.
     *
     * @return the write lock, the same object on every call
     */
    public DistributedLock writeLock() {
        return write;
    }

    @Override
    public String toString() {
        return "ReadWriteLock{" + name + ", " + session + "}";
    }
}
