package dev.etcdlock;

/**
 * Base of every exception etcd-lock throws. Unchecked: a lock call either succeeds or throws one of the subclasses,
 * whose message says what happened and what to do about it. The subclasses and when each is thrown are listed in the
 * <a href="package-summary.html#errors">package overview</a>.
 */
public class EtcdLockException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception; etcd-lock throws it (a call cancelled on our side), applications need not.
     *
     * @param message what happened and what to do
     */
    public EtcdLockException(String message) {
        super(message);
    }

    /**
     * Creates the exception with the failure that caused it.
     *
     * @param message what happened and what to do
     * @param cause the underlying failure, or null
     */
    public EtcdLockException(String message, Throwable cause) {
        super(message, cause);
    }
}
