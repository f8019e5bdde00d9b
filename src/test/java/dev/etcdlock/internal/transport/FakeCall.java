package dev.etcdlock.internal.transport;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import java.util.ArrayList;
import java.util.List;

/**
 * One call on a {@link FakeChannel}, unary or a stream: it records the requests sent and whether the client
 * half-closed or cancelled it, and delivers to the client exactly the answers, errors and ends the test pushes, on
 * the test's thread. As a real call, it refuses messages after a cancel and reports a cancel as a CANCELLED close.
 */
public final class FakeCall<Q, R> extends ClientCall<Q, R> {
    private final MethodDescriptor<Q, R> method;
    private final CallOptions options;
    private final List<Q> sent = new ArrayList<>();
    private Listener<R> listener;
    private Metadata headers;
    private boolean halfClosed;
    private String cancelReason;
    private boolean closed;

    FakeCall(MethodDescriptor<Q, R> method, CallOptions options) {
        this.method = method;
        this.options = options;
    }

    public MethodDescriptor<Q, R> method() {
        return method;
    }

    public CallOptions options() {
        return options;
    }

    /** The headers the client started the call with. */
    public synchronized Metadata headers() {
        return headers;
    }

    @Override
    public synchronized void start(Listener<R> listener, Metadata headers) {
        if (this.listener != null) {
            throw new IllegalStateException("already started");
        }
        this.listener = listener;
        this.headers = headers;
    }

    @Override
    public void request(int numMessages) {
        // the test decides when messages come; flow control has nothing to hold back
    }

    @Override
    public void cancel(String message, Throwable cause) {
        synchronized (this) {
            if (cancelReason != null) {
                return;
            }
            cancelReason = String.valueOf(message);
        }
        close(Status.CANCELLED.withDescription(message).withCause(cause));
    }

    @Override
    public synchronized void halfClose() {
        halfClosed = true;
    }

    @Override
    public synchronized void sendMessage(Q message) {
        if (cancelReason != null) {
            throw new IllegalStateException("call was cancelled"); // as grpc's ClientCallImpl
        }
        if (!closed) { // after the server ended the call, a real one drops what is sent too
            sent.add(message);
        }
    }

    @Override
    public boolean isReady() {
        return true;
    }

    /** Every request the client sent on this call so far, oldest first. */
    public synchronized List<Q> requests() {
        return List.copyOf(sent);
    }

    /** The latest request; fails when there is none. */
    public synchronized Q lastRequest() {
        if (sent.isEmpty()) {
            throw new AssertionError("nothing was sent on " + method.getBareMethodName());
        }
        return sent.get(sent.size() - 1);
    }

    public synchronized boolean isHalfClosed() {
        return halfClosed;
    }

    public synchronized boolean isCancelled() {
        return cancelReason != null;
    }

    /** Why the client cancelled the call, or null. */
    public synchronized String cancelReason() {
        return cancelReason;
    }

    public synchronized boolean isClosed() {
        return closed;
    }

    /** The server sends {@code message}; refused once the call is closed, as a test answering it is wrong. */
    public void respond(R message) {
        Listener<R> l;
        synchronized (this) {
            if (closed) {
                throw new IllegalStateException(method.getBareMethodName() + " call is closed ("
                        + (cancelReason != null ? "cancelled: " + cancelReason : "by the server") + ")");
            }
            l = listener();
        }
        l.onMessage(message);
    }

    /** The server answers a unary call: its one message, then OK. */
    public void answer(R message) {
        respond(message);
        close(Status.OK);
    }

    /** The server ends the call with {@code status}. */
    public void close(Status status) {
        Listener<R> l;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            l = listener();
        }
        l.onClose(status, new Metadata());
    }

    private synchronized Listener<R> listener() {
        if (listener == null) {
            throw new IllegalStateException(method.getBareMethodName() + " call not started");
        }
        return listener;
    }
}
