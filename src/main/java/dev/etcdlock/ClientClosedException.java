package dev.etcdlock;

/**
 * The client (or the session) was closed; calls made after {@code close()} fail at once with this exception, and
 * waits in progress end with it. Not retryable on the same object: create a new client or open a new session.
 */
public class ClientClosedException extends EtcdLockException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception; etcd-lock throws it, applications need not.
     *
     * @param message what was closed and what to do
     */
    public ClientClosedException(String message) {
        super(message);
    }
}
