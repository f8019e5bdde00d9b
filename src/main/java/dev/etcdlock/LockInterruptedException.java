package dev.etcdlock;

/**
 * The waiting thread was interrupted during {@link Mutex#lock(java.time.Duration)}. The wait was given up and the
 * waiter key removed before this was thrown; the thread's interrupt flag is set again.
 */
public class LockInterruptedException extends EtcdLockException {
    private static final long serialVersionUID = 1L;

    public LockInterruptedException(String message, InterruptedException cause) {
        super(message, cause);
    }
}
