package consumer;

import dev.etcdlock.EtcdLockClient;
import dev.etcdlock.LockHandle;
import dev.etcdlock.Session;
import java.time.Duration;

/** A JPMS application using etcd-lock through its exported API only. Argument: one etcd client URL. */
public final class Main {

    public static void main(String[] args) {
        Module library = EtcdLockClient.class.getModule();
        System.out.println("consumer module: " + Main.class.getModule().getName());
        System.out.println("library module: " + library.getName() + ", automatic "
                + library.getDescriptor().isAutomatic());
        System.out.println("library exports internal.lock: " + library.isExported("dev.etcdlock.internal.lock"));
        System.out.println("epoll available: " + epollAvailable());
        try (EtcdLockClient client = EtcdLockClient.connect(args[0]);
                Session session = client.newSession(Duration.ofSeconds(10))) {
            long token;
            try (LockHandle lock = session.mutex("/dist-it/module").lock(Duration.ofSeconds(10))) {
                token = lock.fencingToken();
                System.out.println("locked: token " + token + ", held " + lock.isHeld());
            }
            System.out.println("unlocked: token " + token);
        }
    }

    /** Netty's Epoll, under grpc's package (normal jar) or relocated (-all jar); public, so reflection works. */
    private static String epollAvailable() {
        for (String prefix : new String[] {"", "dev.etcdlock.shaded."}) {
            try {
                Class<?> epoll = Class.forName(prefix + "io.grpc.netty.shaded.io.netty.channel.epoll.Epoll");
                return epoll.getMethod("isAvailable").invoke(null) + ", cause: "
                        + epoll.getMethod("unavailabilityCause").invoke(null);
            } catch (ClassNotFoundException e) {
                // Try the other jar's name.
            } catch (ReflectiveOperationException e) {
                return "unknown: " + e;
            }
        }
        return "no netty Epoll class";
    }
}
