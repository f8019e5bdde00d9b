package dev.etcdlock;

/**
 * The lock, permit or election was not acquired within the given time. The waiter's key has been removed from etcd
 * before this is thrown, so nothing is left behind; if etcd could not be reached for that delete, the message says
 * so, and the session deletes the key in the background as soon as etcd answers. Retry later or with a longer
 * timeout.
 */
public class LockTimeoutException extends EtcdLockException {
    private static final long serialVersionUID = 1L;

    /** Whether the waiter key may still be in etcd. */
    private final boolean keyMayRemain;

    /**
     * Creates the exception; etcd-lock throws it, applications need not.
     *
     * @param message what was not acquired, and within how long
     * @param keyMayRemain whether the waiter key may still be in etcd (see {@link #keyMayRemain()})
     */
    public LockTimeoutException(String message, boolean keyMayRemain) {
        super(message);
        this.keyMayRemain = keyMayRemain;
    }

    /**
     * Whether the waiter key may still be in etcd: its delete got no answer. The session then deletes it in the
     * background as soon as etcd answers, or it goes with the session's lease; until then it holds back later
     * waiters of the name. False: nothing was left in etcd.
     *
     * @return true when the key may remain for a while
     */
    public boolean keyMayRemain() {
        return keyMayRemain;
    }
}
