package app;

import com.google.protobuf.Timestamp;
import com.google.protobuf.UnknownFieldSet;
import dev.etcdlock.EtcdLockClient;
import dev.etcdlock.LockHandle;
import dev.etcdlock.Session;
import io.grpc.CallOptions;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.stub.ClientCalls;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * An application that brings its own old grpc and protobuf and also takes a lock through etcd-lock's -all jar.
 * Each line it prints is a fact AllJarIT checks. Argument: one etcd client URL.
 */
public final class ConflictApp {

    public static void main(String[] args) throws Exception {
        URI endpoint = URI.create(args[0]);

        // The application's own protobuf: which jar it comes from, and a round trip through it.
        System.out.println("app protobuf jar: " + jarOf(com.google.protobuf.Message.class));
        System.out.println("app protobuf has RuntimeVersion (4.x only): " + present("com.google.protobuf.RuntimeVersion"));
        Timestamp sent = Timestamp.newBuilder().setSeconds(1_700_000_000L).setNanos(42).build();
        Timestamp read = Timestamp.parseFrom(sent.toByteArray());
        System.out.println("app protobuf round trip: " + read.getSeconds() + "." + read.getNanos());

        // The application's own grpc: which jars, and a real call to etcd through it, decoded by its protobuf.
        System.out.println("app grpc-api jar: " + jarOf(io.grpc.ManagedChannel.class));
        System.out.println("app grpc transport jar: "
                + jarOf(Class.forName("io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder")));
        System.out.println("app grpc has StatusOr (in 1.83, not in 1.65): " + present("io.grpc.StatusOr"));
        ManagedChannel channel = Grpc.newChannelBuilderForAddress(endpoint.getHost(), endpoint.getPort(),
                InsecureChannelCredentials.create()).build();
        try {
            byte[] response = ClientCalls.blockingUnaryCall(channel, maintenanceStatus(),
                    CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS), new byte[0]);
            // StatusResponse field 2 is the server's version.
            String version = UnknownFieldSet.parseFrom(response).getField(2).getLengthDelimitedList().get(0)
                    .toStringUtf8();
            System.out.println("app grpc call: etcd " + version);
        } finally {
            channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
        }

        // etcd-lock from the -all jar, in the same JVM.
        System.out.println("etcd-lock jar: " + jarOf(EtcdLockClient.class));
        System.out.println("etcd-lock epoll available: " + relocatedNative("channel.epoll.Epoll"));
        System.out.println("etcd-lock openssl available: " + relocatedNative("handler.ssl.OpenSsl"));
        try (EtcdLockClient client = EtcdLockClient.connect(args[0]);
                Session session = client.newSession(Duration.ofSeconds(10))) {
            long token;
            try (LockHandle lock = session.mutex("/dist-it/conflict").lock(Duration.ofSeconds(10))) {
                token = lock.fencingToken();
                System.out.println("etcd-lock locked: token " + token + ", held " + lock.isHeld());
            }
            System.out.println("etcd-lock unlocked: token " + token);
        }
    }

    /**
     * Whether one of netty's native libraries loads, through its relocated class ({@code Epoll} or
     * {@code OpenSsl}). Run beside the normal jar instead (to compare), there is no relocated netty.
     */
    private static String relocatedNative(String nettyClass) throws ReflectiveOperationException {
        try {
            Class<?> type = Class.forName("dev.etcdlock.shaded.io.grpc.netty.shaded.io.netty." + nettyClass);
            return type.getMethod("isAvailable").invoke(null) + ", cause: "
                    + type.getMethod("unavailabilityCause").invoke(null);
        } catch (ClassNotFoundException e) {
            return "no relocated netty here";
        }
    }

    private static String jarOf(Class<?> type) {
        String path = type.getProtectionDomain().getCodeSource().getLocation().getPath();
        return path.substring(path.lastIndexOf('/') + 1);
    }

    private static boolean present(String className) {
        try {
            Class.forName(className, false, ConflictApp.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException e) {
            return false;
        }
    }

    private static MethodDescriptor<byte[], byte[]> maintenanceStatus() {
        MethodDescriptor.Marshaller<byte[]> bytes = new MethodDescriptor.Marshaller<>() {
            @Override
            public InputStream stream(byte[] value) {
                return new ByteArrayInputStream(value);
            }

            @Override
            public byte[] parse(InputStream stream) {
                try {
                    return stream.readAllBytes();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        };
        return MethodDescriptor.<byte[], byte[]>newBuilder()
                .setType(MethodDescriptor.MethodType.UNARY)
                .setFullMethodName("etcdserverpb.Maintenance/Status")
                .setRequestMarshaller(bytes)
                .setResponseMarshaller(bytes)
                .build();
    }
}
