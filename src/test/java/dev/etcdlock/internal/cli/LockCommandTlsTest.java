package dev.etcdlock.internal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.etcdlock.EtcdLockClient;
import dev.etcdlock.EtcdTestCluster;
import dev.etcdlock.TestCertificates;
import dev.etcdlock.internal.local.LocalEtcdCluster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code lock} with etcdctl's TLS flags against an etcd that requires client certificates. */
class LockCommandTlsTest {
    private static TestCertificates certs;
    private static EtcdTestCluster etcd;
    /** host:port without a scheme: with TLS flags, etcdctl (and so lock) talks https to it. */
    private static String bareEndpoint;

    @TempDir
    Path dir;

    @BeforeAll
    static void start() {
        certs = TestCertificates.create();
        etcd = EtcdTestCluster.singleTls(LocalEtcdCluster.Tls.mutual(certs.server.cert(), certs.server.key(),
                certs.ca), List.of());
        bareEndpoint = etcd.clientEndpoints().get(0).substring("https://".length());
    }

    @AfterAll
    static void stop() {
        if (etcd != null) {
            etcd.close();
        }
        if (certs != null) {
            certs.close();
        }
    }

    @Test
    void lockTakesEtcdctlsTlsFlagsAndTheCommandCanUseTheSameOnes() throws Exception {
        String name = "/cli-tls/job";
        Path seen = dir.resolve("seen");
        String[] tls = {"--cacert", certs.ca.toString(), "--cert=" + certs.client.cert(), "--key",
                certs.client.key().toString()};
        // the command hands the same flags to etcdctl, when there is one, to list the lock's key while it runs
        String script = "echo \"$ETCD_LOCK_KEY\" > \"$0\"; "
                + "if command -v etcdctl >/dev/null; then ETCDCTL_API=3 etcdctl \"$@\" get --prefix --keys-only "
                + "/cli-tls/job/ > \"$0.etcdctl\" || exit 9; fi; exit 4";
        List<String> args = new java.util.ArrayList<>(List.of("lock", name, "--endpoints", bareEndpoint));
        args.addAll(List.of(tls));
        args.addAll(List.of("--", "sh", "-c", script, seen.toString(), "--endpoints=" + bareEndpoint));
        args.addAll(List.of(tls));

        CliRun run = CliRun.of(args.toArray(new String[0]));

        assertEquals(4, run.code(), run::toString);
        String key = Files.readString(seen).strip();
        assertTrue(key.startsWith(name + "/"), key);
        Path listed = Path.of(seen + ".etcdctl");
        if (Files.exists(listed)) {
            assertTrue(Files.readString(listed).contains(key), () -> "etcdctl saw " + read(listed));
        }
        try (EtcdLockClient client = EtcdLockClient.builder().endpoints(etcd.clientEndpoints())
                .trustedCertificates(certs.ca).clientCertificate(certs.client.cert(), certs.client.key()).build()) {
            assertTrue(client.newSession().mutex(name).tryLock().isPresent(), "released when the command ended");
        }
    }

    @Test
    void missingKeyOrCertificateAndRefusedCertificatesAreReported() {
        CliRun noKey = CliRun.of("lock", "/cli-tls/x", "--endpoints", bareEndpoint, "--cert",
                certs.client.cert().toString(), "true");
        assertEquals(2, noKey.code(), noKey::toString);
        assertTrue(noKey.err().contains("--cert needs --key"), noKey::toString);

        CliRun noCert = CliRun.of("lock", "/cli-tls/x", "--endpoints", bareEndpoint, "--key",
                certs.client.key().toString(), "true");
        assertEquals(2, noCert.code(), noCert::toString);
        assertTrue(noCert.err().contains("--key needs --cert"), noCert::toString);

        long start = System.nanoTime();
        CliRun refused = CliRun.of("lock", "/cli-tls/x", "--endpoints", bareEndpoint, "--cacert", certs.ca.toString(),
                "--", "true");
        assertEquals(1, refused.code(), refused::toString);
        assertTrue(refused.err().contains("etcd requires a client certificate")
                && refused.err().contains("--cert and --key on the command line"), refused::toString);
        assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start) < 4_000, refused::toString);
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            return e.toString();
        }
    }
}
