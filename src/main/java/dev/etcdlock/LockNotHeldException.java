package dev.etcdlock;

/**
 * An unlock, a resign or a proclaim found the lock or the term no longer ours: released already (a second call, or
 * the session closed), or lost with the session's lease and possibly taken by someone else. Nothing of anybody
 * else's was deleted or written. A write guarded by {@link Txn#ifHeld(LockHandle)} reports the same case by
 * returning false.
 */
public class LockNotHeldException extends EtcdLockException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception; etcd-lock throws it, applications need not.
     *
     * @param message which lock, and how it was found
     */
    public LockNotHeldException(String message) {
        super(message);
    }
}
