package dev.etcdlock;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;

/**
 * Certificates for TLS tests, made with the {@code openssl} command in a temp dir that {@link #close()} deletes:
 * a CA, a server certificate for 127.0.0.1 and localhost, one for another host name, client certificates, and a
 * second CA that has nothing to do with the first. EC P-256 keys (fast to make), written as PKCS#8
 * ({@code BEGIN PRIVATE KEY}), which is what {@code openssl req -keyout} writes.
 */
public final class TestCertificates implements AutoCloseable {

    /** One certificate and its private key, both PEM files. */
    public record Pair(Path cert, Path key) {
    }

    public final Path dir;
    public final Path ca;
    public final Pair server;
    /** Signed by {@link #ca}, but for {@code etcd.example.invalid} only: a host name mismatch on 127.0.0.1. */
    public final Pair serverForAnotherHost;
    /** Signed by {@link #ca} for 127.0.0.1, but expired yesterday. */
    public final Pair expiredServer;
    /** Signed by {@link #ca}; CN {@value #CLIENT_CN} (etcd takes the CN as the user name when auth is on). */
    public final Pair client;
    /** Another CA, which signed nothing etcd trusts. */
    public final Path otherCa;
    /** Signed by {@link #otherCa}. */
    public final Pair clientOfOtherCa;

    public static final String CLIENT_CN = "alice";

    private final Path config;
    private final Pair caPair;

    private TestCertificates(Path dir) throws IOException {
        this.dir = dir;
        this.config = dir.resolve("openssl.cnf");
        // Our own config: the distribution's one differs between OpenSSL versions and may add extensions.
        Files.writeString(config, """
                [req]
                distinguished_name = dn
                prompt = no
                [dn]
                CN = unused
                [ca_ext]
                basicConstraints = critical, CA:TRUE
                keyUsage = critical, keyCertSign, cRLSign
                subjectKeyIdentifier = hash
                [server_ext]
                basicConstraints = CA:FALSE
                keyUsage = critical, digitalSignature, keyEncipherment
                extendedKeyUsage = serverAuth
                subjectAltName = IP:127.0.0.1, DNS:localhost
                [other_host_ext]
                basicConstraints = CA:FALSE
                keyUsage = critical, digitalSignature, keyEncipherment
                extendedKeyUsage = serverAuth
                subjectAltName = DNS:etcd.example.invalid
                [client_ext]
                basicConstraints = CA:FALSE
                keyUsage = critical, digitalSignature, keyEncipherment
                extendedKeyUsage = clientAuth
                """);
        this.caPair = makeCa("ca", "etcd-lock test CA");
        this.ca = caPair.cert();
        this.server = sign("server", "etcd-lock test server", "server_ext", caPair);
        this.serverForAnotherHost = sign("other-host", "etcd.example.invalid", "other_host_ext", caPair);
        this.expiredServer = sign("expired", "etcd-lock expired server", "server_ext", caPair, -1);
        this.client = sign("client", CLIENT_CN, "client_ext", caPair);
        Pair other = makeCa("other-ca", "some other CA");
        this.otherCa = other.cert();
        this.clientOfOtherCa = sign("other-client", CLIENT_CN, "client_ext", other);
    }

    /** Makes everything in a new temp dir; skips the calling test when openssl is not installed. */
    public static TestCertificates create() {
        Assumptions.assumeTrue(opensslAvailable(), "the openssl command is not on the PATH (apt-get install openssl)");
        Path dir;
        try {
            dir = Files.createTempDirectory("etcd-lock-certs-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try {
            return new TestCertificates(dir);
        } catch (IOException | RuntimeException e) {
            deleteRecursively(dir);
            throw e instanceof IOException io ? new UncheckedIOException(io) : (RuntimeException) e;
        }
    }

    static boolean opensslAvailable() {
        try {
            Process p = new ProcessBuilder("openssl", "version").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** A new client certificate signed by {@link #ca}, with an RSA key, for trying key formats. */
    public Pair rsaClient(String name) {
        Path key = dir.resolve(name + ".key");
        Path csr = dir.resolve(name + ".csr");
        Path cert = dir.resolve(name + ".pem");
        openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", key.toString(), "-out", csr.toString(),
                "-subj", "/CN=" + CLIENT_CN, "-config", config.toString());
        openssl("x509", "-req", "-in", csr.toString(), "-CA", caPair.cert().toString(), "-CAkey",
                caPair.key().toString(), "-CAcreateserial", "-out", cert.toString(), "-days", "2",
                "-extfile", config.toString(), "-extensions", "client_ext");
        return new Pair(cert, key);
    }

    /**
     * The key rewritten in OpenSSL's traditional format: {@code BEGIN EC PRIVATE KEY} (SEC 1) for EC keys,
     * {@code BEGIN RSA PRIVATE KEY} (PKCS#1) for RSA keys.
     */
    public Path traditional(Path pkcs8Key, String algorithm) {
        Path out = dir.resolve(pkcs8Key.getFileName() + "." + algorithm + "-traditional");
        if (algorithm.equals("rsa")) {
            openssl("rsa", "-in", pkcs8Key.toString(), "-out", out.toString(), "-traditional");
        } else {
            openssl("ec", "-in", pkcs8Key.toString(), "-out", out.toString()); // SEC 1 is what `openssl ec` writes
        }
        return out;
    }

    /** The key encrypted with a passphrase ({@code BEGIN ENCRYPTED PRIVATE KEY}). */
    public Path encrypted(Path pkcs8Key) {
        Path out = dir.resolve(pkcs8Key.getFileName() + ".encrypted");
        openssl("pkcs8", "-topk8", "-in", pkcs8Key.toString(), "-out", out.toString(), "-passout", "pass:secret");
        return out;
    }

    private Pair makeCa(String name, String cn) {
        Path key = dir.resolve(name + ".key");
        Path cert = dir.resolve(name + ".pem");
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", key.toString(), "-out", cert.toString(), "-days", "2", "-subj", "/CN=" + cn,
                "-config", config.toString(), "-extensions", "ca_ext");
        return new Pair(cert, key);
    }

    private Pair sign(String name, String cn, String extensions, Pair issuer) {
        return sign(name, cn, extensions, issuer, 2);
    }

    /** {@code days} -1 makes a certificate that expired a day before it was issued. */
    private Pair sign(String name, String cn, String extensions, Pair issuer, int days) {
        Path key = dir.resolve(name + ".key");
        Path csr = dir.resolve(name + ".csr");
        Path cert = dir.resolve(name + ".pem");
        openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", key.toString(), "-out", csr.toString(), "-subj", "/CN=" + cn, "-config", config.toString());
        openssl("x509", "-req", "-in", csr.toString(), "-CA", issuer.cert().toString(), "-CAkey",
                issuer.key().toString(), "-CAcreateserial", "-out", cert.toString(), "-days", Integer.toString(days),
                "-extfile", config.toString(), "-extensions", extensions);
        return new Pair(cert, key);
    }

    private void openssl(String... args) {
        List<String> command = new ArrayList<>(List.of("openssl"));
        command.addAll(List.of(args));
        try {
            Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                p.destroyForcibly();
                throw new IllegalStateException(String.join(" ", command) + " failed: " + out);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("could not run " + String.join(" ", command), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running openssl", e);
        }
    }

    /** Deletes the temp dir and everything in it. */
    @Override
    public void close() {
        deleteRecursively(dir);
    }

    private static void deleteRecursively(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("could not delete " + dir, e);
        }
    }
}
