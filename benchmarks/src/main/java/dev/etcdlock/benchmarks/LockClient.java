package dev.etcdlock.benchmarks;

import java.util.List;

/**
 * The little that every benchmarked lock client must do, so that one benchmark body measures each of them (the
 * shape of Caffeine's {@code GetPutBenchmark}: a facade and one implementation per library, picked by a
 * {@code @Param}).
 *
 * <p>A client is one connection to etcd; a session is one lease kept alive by the client (60 s TTL); a lock is
 * taken through a session and released through the returned {@link Held}. Every method blocks until etcd answered.
 */
public interface LockClient extends AutoCloseable {

    /** Grants a lease (60 s TTL) and keeps it alive until the session is closed. */
    Session newSession();

    /** Closes the connection; sessions not closed before are revoked or expire. */
    @Override
    void close();

    interface Session extends AutoCloseable {
        /** Blocks until the lock on {@code name} is held through this session. */
        Held lock(String name);

        /** Revokes the lease: every lock of the session is released. */
        @Override
        void close();
    }

    interface Held {
        /** Releases the lock (one round trip for both libraries). */
        void unlock();
    }

    /** The libraries, by the names the JSON carries in {@code params.impl}. */
    enum Impl {
        /** This project: {@code dev.etcdlock.EtcdLockClient}, {@code Session}, {@code Mutex}, {@code LockHandle}. */
        etcdlock {
            @Override
            public LockClient connect(List<String> endpoints) {
                return new EtcdLockFacade(endpoints);
            }
        },
        /** jetcd 0.8.5's Lock client (etcd's server-side v3lock service) with a lease kept alive by its Lease client. */
        jetcd {
            @Override
            public LockClient connect(List<String> endpoints) {
                return new JetcdFacade(endpoints);
            }
        };

        public abstract LockClient connect(List<String> endpoints);
    }
}
