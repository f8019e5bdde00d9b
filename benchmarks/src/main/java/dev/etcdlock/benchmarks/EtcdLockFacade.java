package dev.etcdlock.benchmarks;

import dev.etcdlock.EtcdLockClient;
import dev.etcdlock.LockHandle;
import java.time.Duration;
import java.util.List;

/** {@link LockClient} over this project's public API, used exactly as its README shows. */
final class EtcdLockFacade implements LockClient {
    private final EtcdLockClient client;

    EtcdLockFacade(List<String> endpoints) {
        this.client = EtcdLockClient.builder().endpoints(endpoints).build();
    }

    @Override
    public Session newSession() {
        dev.etcdlock.Session session = client.newSession(Duration.ofSeconds(60));
        return new Session() {
            @Override
            public Held lock(String name) {
                LockHandle handle = session.mutex(name).lock();
                return handle::unlock;
            }

            @Override
            public void close() {
                session.close();
            }
        };
    }

    @Override
    public void close() {
        client.close();
    }

    @Override
    public String toString() {
        return "etcdlock " + client;
    }
}
