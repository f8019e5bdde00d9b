package dev.etcdlock;

/**
 * The waiting thread was interrupted during a timed wait ({@link DistributedLock#lock(java.time.Duration)},
 * {@link Semaphore#acquire(java.time.Duration)}, {@link Election#campaign(String, java.time.Duration)}). The wait was
 * given up and the waiter key removed before this was thrown (if etcd could not be reached for that delete, the
 * message says so, and the session deletes the key in the background as soon as etcd answers); the thread's
 * interrupt flag is set again. The {@link InterruptedException} is the cause.
 */
public class LockInterruptedException extends EtcdLockException {
    private static final long serialVersionUID = 1L;

    /** Whether the waiter key may still be in etcd. */
    private final boolean keyMayRemain;

    /**
     * Creates the exception; etcd-lock throws it, applications need not.
     *
     * @param message what was being waited for
     * @param keyMayRemain whether the waiter key may still be in etcd (see {@link #keyMayRemain()})
     * @param cause the interruption
     */
    public LockInterruptedException(String message, boolean keyMayRemain, InterruptedException cause) {
        super(message, cause);
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
