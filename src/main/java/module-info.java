/**
 * etcd-lock: distributed locks, semaphores, read-write locks and elections on etcd v3.
 *
 * <p>Only {@code dev.etcdlock} is exported; the transport, the lock engine, the command line and the generated
 * etcd protocol classes stay inside the module. grpc and protobuf jars carry no module descriptor, so they are
 * required by their {@code Automatic-Module-Name}. The grpc transport ({@code io.grpc.netty.shaded}) is found by
 * grpc through {@code ServiceLoader}; it is required here so that it is resolved without {@code --add-modules}.
 * {@code etcd-lock-<version>-all.jar} drops this descriptor (its dependencies are relocated inside it) and is the
 * automatic module {@code dev.etcdlock}.
 */
module dev.etcdlock {
    exports dev.etcdlock;

    // The generated stubs' FutureStub classes name guava's ListenableFuture.
    requires com.google.common;
    requires com.google.protobuf;
    requires io.grpc;
    requires io.grpc.netty.shaded;
    requires io.grpc.protobuf;
    requires io.grpc.stub;
    // LocalEtcdCluster (used by the command line's demo) polls etcd's health over HTTP.
    requires java.net.http;
    // The command line quiets grpc's java.util.logging output.
    requires java.logging;
    // Flight recorder events of the lock engine.
    requires jdk.jfr;
    // Netty (inside io.grpc.netty.shaded, an automatic module that cannot say so itself) uses sun.misc.Unsafe
    // for direct buffers; without this an application launched with -m never resolves jdk.unsupported and netty
    // falls back to heap buffers.
    requires jdk.unsupported;
}
