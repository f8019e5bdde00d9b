package dev.etcdlock;

/**
 * The lock, permit or election was not acquired within the given time. The waiter's key has been removed from etcd
 * before this is thrown, so nothing is left behind; if etcd could not be reached for that delete, the message says
 * so, and the session deletes the key in the background as soon as etcd answers. Retry later or with a longer
 * timeout.
 */
public class LockTimeoutException extends EtcdLockException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception; etcd-lock throws it, applications need not.
     *
     * @param message what was not acquired, and within how long
     */
    public LockTimeoutException(String message) {
        super(message);
    }
}
