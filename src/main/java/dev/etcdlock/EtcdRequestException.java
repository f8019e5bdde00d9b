package dev.etcdlock;

/**
 * etcd refused the request itself: permission denied, request too large, database space exceeded, a bad argument.
 * Retrying the same request will fail the same way; the message carries etcd's own reason.
 */
public class EtcdRequestException extends EtcdLockException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception; etcd-lock throws it, applications need not.
     *
     * @param message etcd's reason and what to do
     * @param cause the gRPC error etcd answered with, or null
     */
    public EtcdRequestException(String message, Throwable cause) {
        super(message, cause);
    }
}
