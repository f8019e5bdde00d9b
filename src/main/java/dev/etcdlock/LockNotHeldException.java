package dev.etcdlock;

/**
 * An unlock (or guarded write) found the lock no longer ours: released already, or lost with the session's lease
 * and possibly taken by someone else. Nothing of anybody else's was deleted.
 */
public class LockNotHeldException extends EtcdLockException {
    private static final long serialVersionUID = 1L;

    public LockNotHeldException(String message) {
        super(message);
    }
}
