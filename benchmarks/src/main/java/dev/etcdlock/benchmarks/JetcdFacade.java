package dev.etcdlock.benchmarks;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.lease.LeaseKeepAliveResponse;
import io.etcd.jetcd.support.CloseableClient;
import io.grpc.stub.StreamObserver;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * {@link LockClient} over jetcd 0.8.5: a lease from {@code getLeaseClient().grant(60)} kept alive with
 * {@code keepAlive(id, observer)}, locks from {@code getLockClient().lock(name, leaseId)} (etcd's server-side lock
 * service, which waits inside etcd) and {@code unlock(key)}.
 */
final class JetcdFacade implements LockClient {
    private final Client client;

    JetcdFacade(List<String> endpoints) {
        this.client = Client.builder().endpoints(endpoints.toArray(String[]::new)).build();
    }

    @Override
    public Session newSession() {
        long leaseId = join(client.getLeaseClient().grant(60)).getID();
        CloseableClient keepAlive = client.getLeaseClient().keepAlive(leaseId, new StreamObserver<>() {
            @Override
            public void onNext(LeaseKeepAliveResponse value) {
            }

            @Override
            public void onError(Throwable t) {
            }

            @Override
            public void onCompleted() {
            }
        });
        return new Session() {
            @Override
            public Held lock(String name) {
                ByteSequence key = join(client.getLockClient()
                        .lock(ByteSequence.from(name, StandardCharsets.UTF_8), leaseId)).getKey();
                return () -> join(client.getLockClient().unlock(key));
            }

            @Override
            public void close() {
                keepAlive.close();
                join(client.getLeaseClient().revoke(leaseId));
            }
        };
    }

    @Override
    public void close() {
        client.close();
    }

    static <T> T join(CompletableFuture<T> future) {
        try {
            return future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("jetcd call failed: " + e.getCause(), e.getCause());
        }
    }

    @Override
    public String toString() {
        return "jetcd " + client;
    }
}
