package dev.etcdlock;

/**
 * etcd refused the request itself: permission denied, request too large, database space exceeded, a bad argument.
 * Retrying the same request will fail the same way; the message carries etcd's own reason.
 */
public class EtcdRequestException extends EtcdLockException {
    private static final long serialVersionUID = 1L;

    public EtcdRequestException(String message, Throwable cause) {
        super(message, cause);
    }
}
