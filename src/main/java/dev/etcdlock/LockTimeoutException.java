package dev.etcdlock;

/**
 * The lock was not acquired within the given time. The waiter's key has been removed from etcd before this is
 * thrown, so nothing is left behind; retry later or with a longer timeout.
 */
public class LockTimeoutException extends EtcdLockException {
    private static final long serialVersionUID = 1L;

    public LockTimeoutException(String message) {
        super(message);
    }
}
