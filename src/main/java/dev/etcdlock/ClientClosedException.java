package dev.etcdlock;

/** The client (or the session) was closed; calls made after {@code close()} fail at once with this exception. */
public class ClientClosedException extends EtcdLockException {
    private static final long serialVersionUID = 1L;

    public ClientClosedException(String message) {
        super(message);
    }
}
