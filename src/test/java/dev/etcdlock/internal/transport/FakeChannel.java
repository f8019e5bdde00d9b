package dev.etcdlock.internal.transport;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.MethodDescriptor;
import java.util.ArrayList;
import java.util.List;

/**
 * A gRPC channel with no server behind it: every call it makes is a {@link FakeCall} that records what the client
 * sends and answers only what the test tells it to. With {@link Transport#over} it puts the test in etcd's place,
 * one message at a time; it knows nothing of etcd's behaviour.
 */
public final class FakeChannel extends Channel {
    private final List<FakeCall<?, ?>> calls = new ArrayList<>();

    @Override
    public synchronized <Q, R> ClientCall<Q, R> newCall(MethodDescriptor<Q, R> method, CallOptions options) {
        FakeCall<Q, R> call = new FakeCall<>(method, options);
        calls.add(call);
        return call;
    }

    @Override
    public String authority() {
        return "fake-etcd";
    }

    /** The calls made of {@code method} so far, oldest first. */
    @SuppressWarnings("unchecked")
    public synchronized <Q, R> List<FakeCall<Q, R>> calls(MethodDescriptor<Q, R> method) {
        List<FakeCall<Q, R>> of = new ArrayList<>();
        for (FakeCall<?, ?> call : calls) {
            if (call.method().getFullMethodName().equals(method.getFullMethodName())) {
                of.add((FakeCall<Q, R>) call);
            }
        }
        return of;
    }

    /** The latest call of {@code method}; fails when there was none. */
    public <Q, R> FakeCall<Q, R> last(MethodDescriptor<Q, R> method) {
        List<FakeCall<Q, R>> of = calls(method);
        if (of.isEmpty()) {
            throw new AssertionError("no " + method.getBareMethodName() + " call was made");
        }
        return of.get(of.size() - 1);
    }
}
