package dev.etcdlock;

import dev.etcdlock.internal.Engine;
import dev.etcdlock.internal.lease.Lease;
import dev.etcdlock.internal.watch.WatchMultiplexer;
import java.lang.reflect.Field;

/**
 * What a client or session keeps inside, for tests that a long-lived one does not pile things up. Fields are found
 * by type, not name, so that renaming them does not break the tests; the public API exposes neither on purpose.
 */
public final class Internals {
    private Internals() {
    }

    /** The client's watch multiplexer: every subscription of its waiters and holders is on it. */
    public static WatchMultiplexer watches(EtcdLockClient client) {
        return fieldOfType(client, Engine.class).watches();
    }

    /** The session's lease: callbacks registered on its {@code done()} stay until it ends. */
    public static Lease lease(Session session) {
        return fieldOfType(session, Lease.class);
    }

    /** Live subscriptions on the client's watch stream, counted after everything asked of it before. */
    public static int subscriptions(EtcdLockClient client) {
        return watches(client).subscriptions().join();
    }

    private static <T> T fieldOfType(Object owner, Class<T> type) {
        for (Field f : owner.getClass().getDeclaredFields()) {
            if (f.getType() == type) {
                f.setAccessible(true);
                try {
                    return type.cast(f.get(owner));
                } catch (IllegalAccessException e) {
                    throw new AssertionError(e);
                }
            }
        }
        throw new AssertionError(owner.getClass().getSimpleName() + " has no field of type " + type.getSimpleName());
    }
}
