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
}
