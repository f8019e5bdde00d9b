package dev.etcdlock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.etcdlock.chaos.TcpProxy;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class ReadWriteLockTest extends OneEtcdOneClient {

    @Test
    void eightReadersShareTheLockAndTwoWritersNeverOverlapAnyone() throws Exception {
        String name = "/rw-test/eight-two";
        int readers = 8;
        int writers = 2;
        int rounds = 25;
        Intervals stays = new Intervals();
        List<EtcdLockClient> opened = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(readers + writers);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int w = 0; w < readers + writers; w++) {
                boolean writer = w < writers;
                String holder = (writer ? "writer " : "reader ") + w;
                EtcdLockClient c = EtcdLockClient.connect(etcd.clientEndpoints().get(0));
                opened.add(c);
                futures.add(pool.submit(() -> {
                    try (Session session = c.newSession(Duration.ofSeconds(10))) {
                        ReadWriteLock rw = session.readWriteLock(name);
                        for (int i = 0; i < rounds; i++) {
                            if (writer) {
                                try (LockHandle lock = rw.writeLock().lock(Duration.ofSeconds(60))) {
                                    stays.hold(holder);
                                }
                            } else {
                                try (LockHandle lock = rw.readLock().lock(Duration.ofSeconds(60))) {
                                    stays.holdShared(holder);
                                }
                            }
                        }
                    }
                    return null;
                }));
            }
            long start = System.nanoTime();
            for (Future<?> f : futures) {
                f.get(5, TimeUnit.MINUTES);
            }
            System.out.printf("RW lock, %d readers and %d writers x %d: %.0f acquisitions/s%n", readers, writers,
                    rounds, (readers + writers) * rounds / ((System.nanoTime() - start) / 1e9));
        } finally {
            pool.shutdownNow();
            opened.forEach(EtcdLockClient::close);
        }
        assertEquals((readers + writers) * rounds, stays.all().size());
        int mostReaders = stays.assertExclusiveStaysAlone();
        assertTrue(mostReaders >= 2, "readers held the lock together: at most " + mostReaders);
        assertEquals(0, keys(name), "no keys left under the name");
    }

    @Test
    void aWaitingWriterGetsInBeforeReadersThatCameAfterIt() throws Exception {
        String name = "/rw-test/no-starvation";
        try (Session r1 = client.newSession(); Session r2 = client.newSession(); Session w = client.newSession();
                Session r3 = client.newSession()) {
            LockHandle read1 = r1.readWriteLock(name).readLock().lock();
            LockHandle read2 = r2.readWriteLock(name).readLock().lock(Duration.ofSeconds(5));
            assertEquals(List.of(name + "/read/" + Long.toHexString(r1.leaseId()),
                    name + "/read/" + Long.toHexString(r2.leaseId())),
                    EtcdKeys.keysUnder(etcd.clientEndpoints(), name + "/"));
            CompletableFuture<LockHandle> writer = w.readWriteLock(name).writeLock().lockAsync();
            awaitKeys(name, 3, Duration.ofSeconds(10));
            assertTrue(r3.readWriteLock(name).readLock().tryLock().isEmpty(), "a writer waits: no new reader");
            CompletableFuture<LockHandle> lateReader = r3.readWriteLock(name).readLock().lockAsync();
            awaitKeys(name, 4, Duration.ofSeconds(10));
            Thread.sleep(200);
            assertFalse(writer.isDone(), "readers hold");
            assertFalse(lateReader.isDone(), "behind the waiting writer, although only readers hold");

            read1.unlock();
            Thread.sleep(100);
            assertFalse(writer.isDone(), "one reader still holds");
            read2.unlock();
            LockHandle write = writer.get(5, TimeUnit.SECONDS);
            Thread.sleep(200);
            assertFalse(lateReader.isDone(), "the writer holds");
            assertTrue(write.fencingToken() > read2.fencingToken());
            write.unlock();
            LockHandle read3 = lateReader.get(5, TimeUnit.SECONDS);
            assertTrue(read3.fencingToken() > write.fencingToken());
            read3.unlock();
        }
        assertEquals(0, keys(name));
    }

    @Test
    void aWriterWaitsForReadersAndExcludesThem() throws Exception {
        String name = "/rw-test/writer";
        try (Session a = client.newSession(); Session b = client.newSession(); Session c = client.newSession()) {
            LockHandle read = a.readWriteLock(name).readLock().lock();
            assertTrue(b.readWriteLock(name).writeLock().tryLock().isEmpty(), "a reader holds");
            assertThrows(LockTimeoutException.class,
                    () -> b.readWriteLock(name).writeLock().lock(Duration.ofMillis(300)));
            assertEquals(1, keys(name), "the timed-out writer left nothing");
            read.unlock();
            LockHandle write = b.readWriteLock(name).writeLock().tryLock().orElseThrow();
            assertEquals(name + "/write/" + Long.toHexString(b.leaseId()), write.key());
            assertTrue(c.readWriteLock(name).readLock().tryLock().isEmpty(), "the writer holds");
            assertTrue(c.readWriteLock(name).writeLock().tryLock().isEmpty());
            assertEquals(1, keys(name), "refused tryLocks left nothing");
            write.unlock();
        }
        assertEquals(0, keys(name));
    }

    @Test
    void upgradeAndDowngradeFailFastInsteadOfWaitingForThemselves() throws Exception {
        String name = "/rw-test/upgrade";
        try (Session s = client.newSession()) {
            ReadWriteLock rw = s.readWriteLock(name);
            LockHandle read = rw.readLock().lock();
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> rw.writeLock().lock());
            assertTrue(e.getMessage().contains("cannot be upgraded"), e.getMessage());
            assertThrows(IllegalStateException.class, () -> rw.writeLock().tryLock());
            assertThrows(IllegalStateException.class, () -> rw.writeLock().lock(Duration.ofSeconds(1)));
            assertThrows(IllegalStateException.class, () -> rw.writeLock().lockAsync());
            read.unlock();
            LockHandle write = rw.writeLock().lock(Duration.ofSeconds(5));
            assertThrows(IllegalStateException.class, () -> rw.readLock().lock(Duration.ofSeconds(1)));
            write.unlock();
            rw.readLock().lock(Duration.ofSeconds(5)).unlock();
        }
        assertEquals(0, keys(name));
    }

    @Test
    void aGoMutexOrEtcdctlLockOnTheSameNameActsAsAWriter() throws Exception {
        String name = "/rw-test/mutex";
        try (Session m = client.newSession(); Session r = client.newSession()) {
            LockHandle mutex = m.mutex(name).lock(); // the same key as Go's Mutex or etcdctl lock: name/<lease>
            assertTrue(r.readWriteLock(name).readLock().tryLock().isEmpty());
            CompletableFuture<LockHandle> reader = r.readWriteLock(name).readLock().lockAsync();
            awaitKeys(name, 2, Duration.ofSeconds(10));
            assertFalse(reader.isDone());
            mutex.unlock();
            reader.get(5, TimeUnit.SECONDS).unlock();
        }
        assertEquals(0, keys(name));
    }

    /**
     * Go's experimental RWMutex grants a waiter whose session expired meanwhile: it waits only for the keys before
     * its own to go, never noticing its own went with its lease. Here the waiter's own key going ends the wait.
     */
    @Test
    void aWaiterWhoseLeaseWasRevokedIsNeverGranted() throws Exception {
        String name = "/rw-test/revoked";
        try (Session w = client.newSession(); Session later = client.newSession()) {
            LockHandle write = w.readWriteLock(name).writeLock().lock();
            Session doomed = client.newSession(Duration.ofSeconds(30));
            CompletableFuture<LockHandle> reader = doomed.readWriteLock(name).readLock().lockAsync();
            awaitKeys(name, 2, Duration.ofSeconds(10));
            revokeLease(doomed.leaseId());
            ExecutionException e = assertThrows(ExecutionException.class, () -> reader.get(5, TimeUnit.SECONDS));
            assertInstanceOf(LeaseLostException.class, e.getCause());
            write.unlock();
            Optional<LockHandle> next = later.readWriteLock(name).readLock().tryLock();
            assertTrue(next.isPresent(), "free: the doomed reader left nothing");
            next.get().unlock();
            doomed.close();
        }
        assertEquals(0, keys(name));
    }

    /** The same with a lease that expires (its client cut off past the TTL) while the writer before it releases. */
    @Test
    void aWaiterWhoseLeaseExpiredIsNeverGranted() throws Exception {
        String name = "/rw-test/expired";
        try (TcpProxy proxy = TcpProxy.start(URI.create(etcd.clientEndpoints().get(0)));
                EtcdLockClient cutOff = EtcdLockClient.connect(proxy.endpoint());
                Session w = client.newSession()) {
            LockHandle write = w.readWriteLock(name).writeLock().lock();
            Session doomed = cutOff.newSession(Duration.ofSeconds(2));
            CompletableFuture<LockHandle> reader = doomed.readWriteLock(name).readLock().lockAsync();
            awaitKeys(name, 2, Duration.ofSeconds(10));
            proxy.hang();
            awaitKeys(name, 1, Duration.ofSeconds(10)); // etcd expired the lease: its key went
            write.unlock(); // what Go's RWMutex would grant the expired waiter on
            proxy.pass(); // the waiter hears of both deletes, its own key's too, or has given up already
            ExecutionException e = assertThrows(ExecutionException.class, () -> reader.get(10, TimeUnit.SECONDS));
            assertInstanceOf(LeaseLostException.class, e.getCause());
            assertFalse(doomed.isValid());
            proxy.close();
        }
        assertEquals(0, keys(name));
    }

    @Test
    void badNamesAndClosedSessionsFailFast() {
        Session s = client.newSession();
        assertThrows(IllegalArgumentException.class, () -> s.readWriteLock(""));
        assertThrows(NullPointerException.class, () -> s.readWriteLock(null));
        ReadWriteLock rw = s.readWriteLock("/rw-test/closed");
        assertEquals("/rw-test/closed", rw.name());
        assertEquals("/rw-test/closed", rw.readLock().name());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> rw.readLock().lock(Duration.ZERO));
        assertTrue(e.getMessage().contains("readLock().tryLock()"), e.getMessage());
        s.close();
        assertThrows(ClientClosedException.class, () -> rw.writeLock().lock());
        assertThrows(ClientClosedException.class, () -> s.readWriteLock("/x"));
    }
}
