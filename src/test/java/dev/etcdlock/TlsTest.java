package dev.etcdlock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.etcdlock.internal.Engine;
import dev.etcdlock.internal.kv.Kv;
import dev.etcdlock.internal.local.LocalEtcdCluster;
import dev.etcdlock.internal.proto.RangeRequest;
import dev.etcdlock.internal.transport.Endpoint;
import dev.etcdlock.internal.transport.TlsFiles;
import dev.etcdlock.internal.transport.TransportSecurity;
import io.grpc.Status;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * TLS against real etcd: one member serving TLS, one requiring client certificates (mutual TLS), and members started
 * by single tests with a certificate for another host, an expired one, or no TLS at all. Certificates are made by
 * openssl for each run ({@link TestCertificates}).
 */
class TlsTest {
    private static final Duration FAIL_FAST = Duration.ofSeconds(3);

    private static TestCertificates certs;
    private static EtcdTestCluster tlsEtcd;
    private static EtcdTestCluster mtlsEtcd;
    private static final List<Long> pids = new ArrayList<>();

    @BeforeAll
    static void start() {
        certs = TestCertificates.create();
        tlsEtcd = started(LocalEtcdCluster.Tls.server(certs.server.cert(), certs.server.key()));
        mtlsEtcd = started(LocalEtcdCluster.Tls.mutual(certs.server.cert(), certs.server.key(), certs.ca));
    }

    private static EtcdTestCluster started(LocalEtcdCluster.Tls tls) {
        EtcdTestCluster etcd = EtcdTestCluster.singleTls(tls, List.of());
        pids.add(etcd.local().pid(0));
        return etcd;
    }

    @AfterAll
    static void stop() {
        for (EtcdTestCluster etcd : new EtcdTestCluster[] {tlsEtcd, mtlsEtcd}) {
            if (etcd != null) {
                etcd.close();
            }
        }
        if (certs != null) {
            certs.close();
            assertFalse(Files.exists(certs.dir), "the certificates are deleted");
        }
        for (long pid : pids) {
            assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "etcd " + pid + " stopped");
        }
    }

    private static String endpoint(EtcdTestCluster etcd) {
        return etcd.clientEndpoints().get(0);
    }

    private static EtcdLockClient.Builder trusting(EtcdTestCluster etcd) {
        return EtcdLockClient.builder().endpoints(etcd.clientEndpoints()).trustedCertificates(certs.ca);
    }

    private static EtcdLockClient.Builder withClientCertificate(EtcdTestCluster etcd) {
        return trusting(etcd).clientCertificate(certs.client.cert(), certs.client.key());
    }

    @Test
    void locksOverTlsVerifiedWithTheGivenCa() throws Exception {
        assertTrue(endpoint(tlsEtcd).startsWith("https://127.0.0.1:"), endpoint(tlsEtcd));
        try (EtcdLockClient a = trusting(tlsEtcd).build(); EtcdLockClient b = trusting(tlsEtcd).build()) {
            assertTrue(a.serverVersion().matches("3\\.\\d+\\.\\d+.*"), a.serverVersion());
            handOver(a, b, "/tls/handover");
        }
        assertEquals(0, keys(tlsEtcd, null, "/tls/handover/"));
    }

    @Test
    void mutualTlsWorksWithAClientCertificateInPkcs8EcOrRsa() throws Exception {
        TestCertificates.Pair rsa = certs.rsaClient("rsa-client");
        try (EtcdLockClient ec = withClientCertificate(mtlsEtcd).build();
                EtcdLockClient rsaClient = trusting(mtlsEtcd).clientCertificate(rsa.cert(), rsa.key()).build()) {
            handOver(ec, rsaClient, "/mtls/handover");
        }
        assertEquals(0, keys(mtlsEtcd, new TlsFiles(certs.ca, certs.client.cert(), certs.client.key()),
                "/mtls/handover/"));
    }

    /** a takes the lock, b waits for it on its watch, a releases, b gets it with a larger token. */
    private static void handOver(EtcdLockClient a, EtcdLockClient b, String name) throws Exception {
        try (Session sa = a.newSession(); Session sb = b.newSession()) {
            LockHandle held = sa.mutex(name).lock(Duration.ofSeconds(5));
            assertTrue(sb.mutex(name).tryLock().isEmpty(), "held by a");
            CompletableFuture<LockHandle> waiting = sb.mutex(name).lockAsync();
            Thread.sleep(300);
            assertFalse(waiting.isDone(), "b waits while a holds the lock");
            assertTrue(a.txn().ifHeld(held).put(name + "-data", "written by a").commit());
            held.unlock();
            try (LockHandle next = waiting.get(10, TimeUnit.SECONDS)) {
                assertTrue(next.fencingToken() > held.fencingToken());
                assertFalse(b.txn().ifHeld(held).put(name + "-data", "late write").commit(), "a's token is stale");
            }
        }
    }

    @Test
    void etcdRequiringAClientCertificateRefusesAClientWithoutOne() {
        String message = refusedAtOnce(trusting(mtlsEtcd));
        assertTrue(message.contains("etcd requires a client certificate (it runs with --client-cert-auth)")
                && message.contains("clientCertificate(certPemFile, privateKeyPemFile)"), message);
    }

    @Test
    void aClientCertificateFromAnotherCaIsRefused() {
        String message = refusedAtOnce(trusting(mtlsEtcd)
                .clientCertificate(certs.clientOfOtherCa.cert(), certs.clientOfOtherCa.key()));
        assertTrue(message.contains("etcd refused the client certificate " + certs.clientOfOtherCa.cert())
                && message.contains("signed by a CA in etcd's --trusted-ca-file"), message);
    }

    @Test
    void aServerCertificateFromAnUntrustedCaIsRefused() {
        String otherCa = refusedAtOnce(EtcdLockClient.builder().endpoints(endpoint(tlsEtcd))
                .trustedCertificates(certs.otherCa));
        assertTrue(otherCa.contains("etcd's server certificate is not signed by the CA in " + certs.otherCa)
                && otherCa.contains("PKIX path building failed"), otherCa);
        String jvmCas = refusedAtOnce(EtcdLockClient.builder().endpoints(endpoint(tlsEtcd)));
        assertTrue(jvmCas.contains("etcd's server certificate is not signed by a CA this JVM trusts")
                && jvmCas.contains("trustedCertificates(caPemFile)"), jvmCas);
    }

    @Test
    void aServerCertificateForAnotherHostIsRefused() {
        try (EtcdTestCluster etcd = EtcdTestCluster.singleTls(LocalEtcdCluster.Tls.server(
                certs.serverForAnotherHost.cert(), certs.serverForAnotherHost.key()), List.of())) {
            String message = refusedAtOnce(trusting(etcd));
            assertTrue(message.contains("not issued for the host name or IP address of the endpoint")
                    && message.contains("etcd.example.invalid"), message);
        }
    }

    @Test
    void anExpiredServerCertificateIsRefused() {
        try (EtcdTestCluster etcd = EtcdTestCluster.singleTls(LocalEtcdCluster.Tls.server(
                certs.expiredServer.cert(), certs.expiredServer.key()), List.of())) {
            String message = refusedAtOnce(trusting(etcd));
            assertTrue(message.contains("etcd's server certificate has expired"), message);
        }
    }

    /** The connect fails with EtcdUnavailableException well before the 10 s connect timeout: it is not retried. */
    private static String refusedAtOnce(EtcdLockClient.Builder builder) {
        long start = System.nanoTime();
        EtcdUnavailableException e = assertThrows(EtcdUnavailableException.class,
                () -> builder.connectTimeout(Duration.ofSeconds(10)).build().close());
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertTrue(ms < FAIL_FAST.toMillis(), "failed after " + ms + " ms: " + e.getMessage());
        assertTrue(e.getMessage().startsWith("the TLS handshake with etcd at [https://"), e.getMessage());
        return e.getMessage();
    }

    /** A member hanging up on the wrong scheme is seen as a close or, depending on timing, a reset: same hint. */
    @Test
    void aDroppedConnectionReadsTheSameWhetherClosedOrReset() {
        List<Endpoint> https = List.of(Endpoint.parse("https://127.0.0.1:2379"));
        String pipeline = "\nChannel Pipeline: [SslHandler#0, ProtocolNegotiators$ClientTlsHandler#0, "
                + "WriteBufferingAndExceptionHandler#0, DefaultChannelPipeline$TailContext#0]";
        Status closed = Status.UNAVAILABLE.withDescription("Connection closed while performing TLS negotiation"
                + pipeline);
        Status reset = Status.UNAVAILABLE.withDescription("io exception" + pipeline).withCause(
                new IOException("recvAddress(..) failed with error(-104): Connection reset by peer"));
        for (Status status : List.of(closed, reset)) {
            TransportSecurity.Diagnosis d = TransportSecurity.diagnose(status, https, null);
            assertTrue(d != null && d.hint().contains("as a member serving plain http does") && !d.permanent(),
                    () -> status + ": " + d);
        }
        Status resetLater = Status.UNAVAILABLE.withDescription("io exception").withCause(
                new IOException("Connection reset by peer"));
        assertEquals(null, TransportSecurity.diagnose(resetLater, https, null), "not in a handshake: no TLS hint");
        // and plaintext to a TLS member: closed or reset, depending on timing
        List<Endpoint> http = List.of(Endpoint.parse("http://127.0.0.1:2379"));
        for (Status status : List.of(Status.UNAVAILABLE.withDescription("Network closed for unknown reason"),
                Status.UNAVAILABLE.withDescription("io exception").withCause(new IOException(
                        "recvAddress(..) failed with error(-104): Connection reset by peer")))) {
            TransportSecurity.Diagnosis d = TransportSecurity.diagnose(status, http, null);
            assertTrue(d != null && d.hint().contains("use https:// endpoints") && !d.permanent(),
                    () -> status + ": " + d);
        }
    }

    @Test
    void plainHttpToATlsEtcdAndTlsToAPlainEtcdSayWhichSchemeToUse() {
        String http = endpoint(tlsEtcd).replace("https://", "http://");
        EtcdUnavailableException toTls = assertThrows(EtcdUnavailableException.class,
                () -> EtcdLockClient.builder().endpoints(http).connectTimeout(Duration.ofSeconds(1)).build());
        assertTrue(toTls.getMessage().contains("if etcd's --listen-client-urls are https://, use https:// endpoints"),
                toTls.getMessage());
        try (EtcdTestCluster plain = EtcdTestCluster.single()) {
            Assumptions.assumeTrue(endpoint(plain).startsWith("http://"), "a plain http etcd");
            String https = endpoint(plain).replace("http://", "https://");
            EtcdUnavailableException toPlain = assertThrows(EtcdUnavailableException.class, () -> EtcdLockClient
                    .builder().endpoints(https).trustedCertificates(certs.ca).connectTimeout(Duration.ofSeconds(1))
                    .build());
            assertTrue(toPlain.getMessage().contains("dropped the connection during the TLS handshake, as a member "
                    + "serving plain http does: use http:// endpoints"), toPlain.getMessage());
        }
    }

    @Test
    void badFilesAndHttpEndpointsFailAtBuildBeforeConnectingAndNeverShowTheKey() throws IOException {
        String https = endpoint(tlsEtcd);
        Path missing = certs.dir.resolve("no-such.pem");
        Path notPem = certs.dir.resolve("openssl.cnf");
        Path ecTraditional = certs.traditional(certs.client.key(), "ec");
        TestCertificates.Pair rsa = certs.rsaClient("rsa-traditional");
        Path rsaTraditional = certs.traditional(rsa.key(), "rsa");
        Path encrypted = certs.encrypted(certs.client.key());
        List<String> messages = new ArrayList<>();

        messages.add(refused(b -> b.endpoints("http://127.0.0.1:2379").trustedCertificates(certs.ca),
                "TLS files are set (a CA file) but the etcd endpoints [http://127.0.0.1:2379] are plain http",
                "use https:// endpoints, like https://127.0.0.1:2379"));
        messages.add(refused(b -> b.endpoints("127.0.0.1:2379").clientCertificate(certs.client.cert(),
                certs.client.key()), "(a bare host:port means http://): use https:// endpoints"));
        messages.add(refused(b -> b.endpoints(https).trustedCertificates(missing),
                "CA file " + missing + " does not exist"));
        messages.add(refused(b -> b.endpoints(https).trustedCertificates(certs.dir),
                "CA file " + certs.dir + " is a directory"));
        messages.add(refused(b -> b.endpoints(https).trustedCertificates(notPem),
                "CA file " + notPem + " holds no PEM certificate", "it is not a PEM file"));
        messages.add(refused(b -> b.endpoints(https).clientCertificate(certs.client.key(), certs.client.cert()),
                "client certificate file " + certs.client.key() + " holds no PEM certificate",
                "it holds [-----BEGIN PRIVATE KEY-----] (are the certificate and the key swapped?)"));
        messages.add(refused(b -> b.endpoints(https).clientCertificate(certs.client.cert(), missing),
                "client key file " + missing + " does not exist"));
        messages.add(refused(b -> b.endpoints(https).clientCertificate(certs.client.cert(), ecTraditional),
                "is in OpenSSL's traditional format (-----BEGIN EC PRIVATE KEY-----), which gRPC's TLS cannot read",
                "openssl pkey -in " + ecTraditional + " -out " + ecTraditional + ".pk8"));
        messages.add(refused(b -> b.endpoints(https).clientCertificate(rsa.cert(), rsaTraditional),
                "(-----BEGIN RSA PRIVATE KEY-----), which gRPC's TLS cannot read", "openssl pkey"));
        messages.add(refused(b -> b.endpoints(https).clientCertificate(certs.client.cert(), encrypted),
                "client key file " + encrypted + " is encrypted with a passphrase", "openssl pkey"));
        messages.add(refused(b -> b.endpoints(https).clientCertificate(certs.client.cert(),
                certs.clientOfOtherCa.key()), "the private key in " + certs.clientOfOtherCa.key()
                + " does not belong to the certificate in " + certs.client.cert()));
        NullPointerException noKey = assertThrows(NullPointerException.class,
                () -> EtcdLockClient.builder().clientCertificate(certs.client.cert(), null));
        assertTrue(noKey.getMessage().contains("a client certificate needs the private key"), noKey.getMessage());

        List<String> keyLines = new ArrayList<>();
        for (Path key : List.of(certs.client.key(), certs.clientOfOtherCa.key(), ecTraditional, rsaTraditional,
                encrypted)) {
            Files.readAllLines(key, StandardCharsets.US_ASCII).stream().filter(l -> !l.startsWith("-----"))
                    .filter(l -> l.length() >= 16).forEach(keyLines::add);
        }
        assertTrue(keyLines.size() > 10);
        for (String message : messages) {
            for (String line : keyLines) {
                assertFalse(message.contains(line) || message.contains(line.substring(0, 16)),
                        "a message shows key material: " + message);
            }
        }
    }

    /** build() throws IllegalArgumentException at once, with a message holding each of {@code expected}. */
    private static String refused(java.util.function.UnaryOperator<EtcdLockClient.Builder> settings,
            String... expected) {
        long start = System.nanoTime();
        Executable build = () -> settings.apply(EtcdLockClient.builder()).build().close();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, build);
        assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start) < 1_000, "before connecting");
        for (String part : expected) {
            assertTrue(e.getMessage().contains(part), () -> "'" + e.getMessage() + "' lacks '" + part + "'");
        }
        return e.getMessage();
    }

    /**
     * etcd with --client-cert-auth and authentication: without a token etcd takes the certificate's CN as the user
     * name; with credentials(...) the token's user counts.
     */
    @Test
    void withAuthenticationTheCertificateNameOrTheCredentialsDecide() throws Exception {
        Assumptions.assumeTrue(Etcdctl.available(), "etcdctl is not on the PATH");
        try (EtcdTestCluster etcd = EtcdTestCluster.singleTls(LocalEtcdCluster.Tls.mutual(certs.server.cert(),
                certs.server.key(), certs.ca), List.of())) {
            etcdctl(etcd, "user", "add", "root:rootpw");
            etcdctl(etcd, "user", "grant-role", "root", "root");
            etcdctl(etcd, "auth", "enable");
            etcdctl(etcd, "--user=root:rootpw", "user", "add", TestCertificates.CLIENT_CN + ":alicepw");
            etcdctl(etcd, "--user=root:rootpw", "role", "add", "locks");
            etcdctl(etcd, "--user=root:rootpw", "role", "grant-permission", "locks", "readwrite", "/allowed/",
                    "--prefix=true");
            etcdctl(etcd, "--user=root:rootpw", "user", "grant-role", TestCertificates.CLIENT_CN, "locks");

            try (EtcdLockClient alice = withClientCertificate(etcd).build(); Session s = alice.newSession()) {
                try (LockHandle lock = s.mutex("/allowed/job").lock(Duration.ofSeconds(5))) {
                    assertTrue(lock.isHeld());
                }
                EtcdRequestException denied = assertThrows(EtcdRequestException.class,
                        () -> s.mutex("/denied/job").lock(Duration.ofSeconds(5)));
                assertTrue(denied.getMessage().contains("permission denied"), denied.getMessage());
            }
            try (EtcdLockClient root = withClientCertificate(etcd).credentials("root", "rootpw").build();
                    Session s = root.newSession();
                    LockHandle lock = s.mutex("/denied/job").lock(Duration.ofSeconds(5))) {
                assertTrue(lock.isHeld(), "root's token, not the certificate's CN, decides");
            }
            EtcdRequestException wrong = assertThrows(EtcdRequestException.class,
                    () -> withClientCertificate(etcd).credentials("root", "nope").build());
            assertTrue(wrong.getMessage().contains("authentication failed"), wrong.getMessage());
        }
    }

    /** etcdctl with the test CA and the client certificate, as the etcd of a TLS test requires. */
    private static void etcdctl(EtcdTestCluster etcd, String... args) throws IOException, InterruptedException {
        List<String> all = new ArrayList<>(List.of("--cacert=" + certs.ca, "--cert=" + certs.client.cert(),
                "--key=" + certs.client.key()));
        all.addAll(List.of(args));
        Etcdctl.run(endpoint(etcd), all.toArray(String[]::new));
    }

    private static long keys(EtcdTestCluster etcd, TlsFiles tls, String prefix) {
        TlsFiles files = tls != null ? tls : new TlsFiles(certs.ca, null, null);
        try (Engine engine = Engine.connect(Engine.Settings.of(etcd.clientEndpoints()).withTls(files))) {
            ByteString p = ByteString.copyFromUtf8(prefix);
            return engine.kv().range(RangeRequest.newBuilder().setKey(p).setRangeEnd(Kv.prefixEnd(p))
                    .setCountOnly(true).build()).join().getCount();
        }
    }
}
