package dev.etcdlock.internal.transport;

import dev.etcdlock.internal.SerialContext;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.function.Consumer;

/**
 * A bidirectional stream whose answers are handled in the client's {@link SerialContext}, and not at all once the
 * stream was cancelled or ended: a replaced stream's late callbacks cannot disturb its successor. Use it from the
 * serial context.
 */
public final class ContextStream<Q> {
    private ClientCallStreamObserver<Q> requests;
    private boolean ended; // serial context

    private ContextStream() {
    }

    static <Q, R> ContextStream<Q> open(Transport transport, io.grpc.MethodDescriptor<Q, R> method,
            Consumer<R> onMessage, Consumer<Throwable> onClosed) {
        ContextStream<Q> stream = new ContextStream<>();
        SerialContext context = transport.executor();
        StreamObserver<R> responses = new StreamObserver<>() {
            @Override
            public void onNext(R message) {
                post(() -> {
                    if (!stream.ended) {
                        onMessage.accept(message);
                    }
                });
            }

            @Override
            public void onError(Throwable error) {
                post(() -> {
                    if (!stream.ended) {
                        stream.ended = true;
                        onClosed.accept(error);
                    }
                });
            }

            @Override
            public void onCompleted() {
                onError(new IllegalStateException("etcd ended the " + method.getBareMethodName() + " stream"));
            }

            private void post(Runnable task) {
                context.execute(task); // the stream's callbacks check whether it was cancelled
            }
        };
        stream.requests = transport.startStream(method, responses);
        return stream;
    }

    public void send(Q message) {
        requests.onNext(message);
    }

    /** Ends the stream; no callback runs for it afterwards. */
    public void cancel(String why) {
        ended = true;
        requests.cancel(why, null);
    }
}
