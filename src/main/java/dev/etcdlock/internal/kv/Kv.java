package dev.etcdlock.internal.kv;

import com.google.protobuf.ByteString;
import dev.etcdlock.internal.proto.CompactionRequest;
import dev.etcdlock.internal.proto.CompactionResponse;
import dev.etcdlock.internal.proto.DeleteRangeRequest;
import dev.etcdlock.internal.proto.DeleteRangeResponse;
import dev.etcdlock.internal.proto.KVGrpc;
import dev.etcdlock.internal.proto.PutRequest;
import dev.etcdlock.internal.proto.PutResponse;
import dev.etcdlock.internal.proto.RangeRequest;
import dev.etcdlock.internal.proto.RangeResponse;
import dev.etcdlock.internal.proto.RequestOp;
import dev.etcdlock.internal.proto.TxnRequest;
import dev.etcdlock.internal.proto.TxnResponse;
import dev.etcdlock.internal.transport.Transport;
import java.util.concurrent.CompletableFuture;

/**
 * etcd's KV service for the recipes. Reads are retried on other members; writes (Put, Delete, a Txn with a write in
 * it) are sent once unless etcd says it did not execute them.
 */
public final class Kv {
    private final Transport transport;

    public Kv(Transport transport) {
        this.transport = transport;
    }

    public CompletableFuture<RangeResponse> range(RangeRequest request) {
        return transport.call(KVGrpc.getRangeMethod(), request, true);
    }

    public CompletableFuture<PutResponse> put(PutRequest request) {
        return transport.call(KVGrpc.getPutMethod(), request, false);
    }

    public CompletableFuture<DeleteRangeResponse> delete(DeleteRangeRequest request) {
        return transport.call(KVGrpc.getDeleteRangeMethod(), request, false);
    }

    public CompletableFuture<TxnResponse> txn(TxnRequest request) {
        return transport.call(KVGrpc.getTxnMethod(), request, isReadOnly(request));
    }

    /**
     * A Txn whose compares make a repeat harmless (a guarded delete, a put-if-absent that reads back what it finds):
     * retried after transport failures like a read.
     */
    public CompletableFuture<TxnResponse> idempotentTxn(TxnRequest request) {
        return transport.call(KVGrpc.getTxnMethod(), request, true);
    }

    /** As {@link #idempotentTxn}, telling whether an earlier attempt of it may have been executed as well. */
    public CompletableFuture<Transport.Answer<TxnResponse>> idempotentTxnTellingRetries(TxnRequest request) {
        return transport.callTellingRetries(KVGrpc.getTxnMethod(), request);
    }

    public CompletableFuture<CompactionResponse> compact(long revision) {
        return transport.call(KVGrpc.getCompactMethod(),
                CompactionRequest.newBuilder().setRevision(revision).build(), false);
    }

    /** The end of the range of every key that starts with {@code prefix}, as etcd's {@code range_end} wants it. */
    public static ByteString prefixEnd(ByteString prefix) {
        byte[] end = prefix.toByteArray();
        for (int i = end.length - 1; i >= 0; i--) {
            if (end[i] != (byte) 0xff) {
                end[i]++;
                return ByteString.copyFrom(end, 0, i + 1);
            }
        }
        return ByteString.copyFrom(new byte[] {0}); // every key from prefix on
    }

    private static boolean isReadOnly(TxnRequest txn) {
        for (RequestOp op : txn.getSuccessList()) {
            if (!op.hasRequestRange()) {
                return false;
            }
        }
        for (RequestOp op : txn.getFailureList()) {
            if (!op.hasRequestRange()) {
                return false;
            }
        }
        return true;
    }
}
