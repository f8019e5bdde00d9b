package dev.etcdlock.benchmarks;

import com.google.protobuf.ByteString;
import dev.etcdlock.internal.proto.DeleteRangeRequest;
import dev.etcdlock.internal.proto.Event;
import dev.etcdlock.internal.proto.PutRequest;
import dev.etcdlock.internal.proto.RequestOp;
import dev.etcdlock.internal.proto.TxnRequest;
import dev.etcdlock.internal.proto.TxnResponse;
import dev.etcdlock.internal.proto.WatchCreateRequest;
import dev.etcdlock.internal.proto.WatchRequest;
import dev.etcdlock.internal.proto.WatchResponse;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The handoff floor: two clients (two channels, two connections) pass a turn back and forth through etcd, each
 * reacting to the other's DELETE event, as a lock waiter reacts to its predecessor's unlock. One hop = one delete,
 * applied by etcd and delivered as a watch event to the other client, which immediately sends its own.
 *
 * <p>A delete needs a key to delete, so each side owns two keys, {@code x/0} and {@code x/1}, and a hop is one
 * Txn {@code Delete(x/i), Put(x/1-i)}: one round trip, one revision. Each side watches the other's keys with
 * etcd's {@code NOPUT} filter, so it receives exactly one event per hop. Everything runs on gRPC callbacks (Netty
 * event loop, no thread hop); each hop releases a permit that the JMH thread takes, like {@link Driver}.
 */
final class PingPong implements AutoCloseable {
    private final Side a;
    private final Side b;
    private final Semaphore hops = new Semaphore(0);
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private volatile boolean running = true;

    PingPong(String endpoint, ByteString prefix) {
        a = new Side(new RawEtcd(endpoint), prefix.concat(ByteString.copyFromUtf8("a/")));
        b = new Side(new RawEtcd(endpoint), prefix.concat(ByteString.copyFromUtf8("b/")));
        a.client.kv.put(PutRequest.newBuilder().setKey(a.key(0)).build());
        long revision = b.client.kv.put(PutRequest.newBuilder().setKey(b.key(0)).build()).getHeader().getRevision();
        CompletableFuture<Void> aWatching = a.watch(b.prefix, revision + 1);
        CompletableFuture<Void> bWatching = b.watch(a.prefix, revision + 1);
        aWatching.join();
        bWatching.join();
        a.hop(); // the first serve
    }

    void awaitHop() throws InterruptedException {
        if (!hops.tryAcquire(30, TimeUnit.SECONDS)) {
            throw new IllegalStateException("no hop for 30 s");
        }
        Throwable t = failure.get();
        if (t != null) {
            throw new IllegalStateException("ping-pong failed: " + t, t);
        }
    }

    void resetStats() {
        hops.drainPermits();
    }

    private void fail(Throwable t) {
        if (running && failure.compareAndSet(null, t)) {
            hops.release(1_000_000);
        }
    }

    @Override
    public void close() {
        running = false;
        a.close();
        b.close();
    }

    private final class Side implements StreamObserver<WatchResponse> {
        final RawEtcd client;
        final ByteString prefix;
        private final CompletableFuture<Void> created = new CompletableFuture<>();
        private StreamObserver<WatchRequest> stream;
        private int current; // the index of this side's key that exists; callback thread only

        Side(RawEtcd client, ByteString prefix) {
            this.client = client;
            this.prefix = prefix;
        }

        ByteString key(int i) {
            return prefix.concat(ByteString.copyFromUtf8(Integer.toString(i)));
        }

        CompletableFuture<Void> watch(ByteString otherPrefix, long fromRevision) {
            stream = client.watch.watch(this);
            stream.onNext(WatchRequest.newBuilder().setCreateRequest(WatchCreateRequest.newBuilder()
                    .setKey(otherPrefix).setRangeEnd(RawEtcd.prefixEnd(otherPrefix))
                    .addFilters(WatchCreateRequest.FilterType.NOPUT)
                    .setStartRevision(fromRevision)).build());
            return created;
        }

        /** Deletes this side's key and re-creates it under the other index, in one Txn. */
        void hop() {
            int next = 1 - current;
            TxnRequest txn = TxnRequest.newBuilder()
                    .addSuccess(RequestOp.newBuilder().setRequestDeleteRange(
                            DeleteRangeRequest.newBuilder().setKey(key(current))))
                    .addSuccess(RequestOp.newBuilder().setRequestPut(PutRequest.newBuilder().setKey(key(next))))
                    .build();
            current = next;
            client.kvAsync.txn(txn, new StreamObserver<>() {
                @Override
                public void onNext(TxnResponse value) {
                }

                @Override
                public void onError(Throwable t) {
                    fail(t);
                }

                @Override
                public void onCompleted() {
                }
            });
            hops.release();
        }

        @Override
        public void onNext(WatchResponse response) {
            if (response.getCreated()) {
                created.complete(null);
            }
            if (response.getCanceled()) {
                fail(new IllegalStateException("watch cancelled: " + response.getCancelReason()));
                return;
            }
            for (Event e : response.getEventsList()) {
                if (e.getType() == Event.EventType.DELETE && running) {
                    hop();
                }
            }
        }

        @Override
        public void onError(Throwable t) {
            created.completeExceptionally(t);
            fail(t);
        }

        @Override
        public void onCompleted() {
        }

        void close() {
            if (stream != null) {
                try {
                    stream.onCompleted();
                } catch (RuntimeException ignored) {
                    // the channel is going away anyway
                }
            }
            client.close();
        }
    }
}
