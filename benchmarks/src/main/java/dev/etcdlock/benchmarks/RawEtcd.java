package dev.etcdlock.benchmarks;

import com.google.protobuf.ByteString;
import dev.etcdlock.internal.proto.Compare;
import dev.etcdlock.internal.proto.DeleteRangeRequest;
import dev.etcdlock.internal.proto.KVGrpc;
import dev.etcdlock.internal.proto.LeaseGrantRequest;
import dev.etcdlock.internal.proto.LeaseGrpc;
import dev.etcdlock.internal.proto.LeaseRevokeRequest;
import dev.etcdlock.internal.proto.PutRequest;
import dev.etcdlock.internal.proto.RequestOp;
import dev.etcdlock.internal.proto.TxnRequest;
import dev.etcdlock.internal.proto.WatchGrpc;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.net.URI;
import java.util.concurrent.TimeUnit;

/**
 * The physical floor: etcd's generated stubs (the ones etcd-lock is built on) over a bare gRPC channel, with no
 * retry logic, no engine thread and no interceptors. Callbacks run on the Netty event loop
 * ({@code directExecutor}), the fewest thread hops a Java gRPC client can have.
 */
final class RawEtcd implements AutoCloseable {
    final ManagedChannel channel;
    final KVGrpc.KVBlockingStub kv;
    final KVGrpc.KVStub kvAsync;
    final WatchGrpc.WatchStub watch;
    final LeaseGrpc.LeaseBlockingStub lease;

    RawEtcd(String endpoint) {
        URI uri = URI.create(endpoint.trim());
        channel = NettyChannelBuilder.forAddress(uri.getHost(), uri.getPort())
                .usePlaintext()
                .directExecutor()
                .build();
        kv = KVGrpc.newBlockingStub(channel);
        kvAsync = KVGrpc.newStub(channel);
        watch = WatchGrpc.newStub(channel);
        lease = LeaseGrpc.newBlockingStub(channel);
    }

    long grantLease(long ttlSeconds) {
        return lease.leaseGrant(LeaseGrantRequest.newBuilder().setTTL(ttlSeconds).build()).getID();
    }

    void revokeLease(long id) {
        lease.leaseRevoke(LeaseRevokeRequest.newBuilder().setID(id).build());
    }

    /** {@code If(create_revision(key) == 0) Then(Put(key, lease))}: what a lock's enqueue writes. */
    static TxnRequest createIfAbsent(ByteString key, long leaseId) {
        return TxnRequest.newBuilder()
                .addCompare(Compare.newBuilder().setKey(key).setTarget(Compare.CompareTarget.CREATE)
                        .setResult(Compare.CompareResult.EQUAL).setCreateRevision(0))
                .addSuccess(RequestOp.newBuilder().setRequestPut(PutRequest.newBuilder().setKey(key).setLease(leaseId)))
                .build();
    }

    /** The range end covering every key that starts with {@code prefix} (prefix without a trailing 0xff byte). */
    static ByteString prefixEnd(ByteString prefix) {
        byte[] end = prefix.toByteArray();
        end[end.length - 1]++;
        return ByteString.copyFrom(end);
    }

    static DeleteRangeRequest delete(ByteString key) {
        return DeleteRangeRequest.newBuilder().setKey(key).build();
    }

    @Override
    public void close() {
        channel.shutdownNow();
        try {
            channel.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
