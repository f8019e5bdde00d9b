package dev.etcdlock;

/**
 * Base of every exception etcd-lock throws. Unchecked: a lock call either succeeds or throws one of the subclasses,
 * whose message says what happened and what to do about it.
 */
public class EtcdLockException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public EtcdLockException(String message) {
        super(message);
    }

    public EtcdLockException(String message, Throwable cause) {
        super(message, cause);
    }
}
