package dev.etcdlock.internal.transport;

import io.grpc.ChannelCredentials;
import io.grpc.TlsChannelCredentials;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;

/**
 * The PEM files of an https client: a CA to verify etcd's server certificate with (null: the JVM's trusted CAs),
 * and a client certificate with its private key for mutual TLS (both null: none). Only paths are kept and printed;
 * the key is read when the channel is made, handed to gRPC, and never put into a message.
 *
 * <p>gRPC (Netty) reads keys with the JDK's PKCS#8 parser only: an unencrypted {@code BEGIN PRIVATE KEY} (RSA, EC,
 * DSA). OpenSSL's traditional {@code BEGIN RSA PRIVATE KEY} / {@code BEGIN EC PRIVATE KEY} and encrypted keys fail
 * there with "Neither RSA, DSA nor EC worked"; {@link #channelCredentials()} says instead how to convert them.
 */
public record TlsFiles(Path trustedCertificates, Path clientCertificate, Path clientKey) {

    /** The labels Netty's PemReader accepts, so that what is checked here is what gRPC will read. */
    private static final Pattern PEM_BLOCK = Pattern.compile(
            "-+BEGIN\\s+([^-\\r\\n]*)-+(?:\\s|\\r|\\n)+([a-z0-9+/=][a-z0-9+/=\\r\\n]*)-+END\\s+\\1-+",
            Pattern.CASE_INSENSITIVE);
    private static final Pattern ANY_BEGIN = Pattern.compile("-+BEGIN\\s+([^-\\r\\n]*)-+");
    /** Of the key types Netty tries (RSA, DSA, EC), with a signature that proves a key belongs to a certificate. */
    private static final Map<String, String> SIGNATURES =
            Map.of("RSA", "SHA256withRSA", "EC", "SHA256withECDSA", "DSA", "SHA256withDSA");

    public TlsFiles {
        if ((clientCertificate == null) != (clientKey == null)) {
            throw new IllegalArgumentException("a client certificate needs its private key and a key its "
                    + "certificate: give both, as clientCertificate(certPemFile, privateKeyPemFile)");
        }
    }

    public boolean hasClientCertificate() {
        return clientCertificate != null;
    }

    /**
     * Reads and checks the files and makes gRPC's TLS credentials from exactly the bytes checked.
     *
     * @throws IllegalArgumentException naming the file and what is wrong with it: missing, unreadable, not PEM, a
     *                                  key in a format gRPC cannot read, a key that is not the certificate's
     */
    public ChannelCredentials channelCredentials() {
        TlsChannelCredentials.Builder tls = TlsChannelCredentials.newBuilder();
        try {
            if (trustedCertificates != null) {
                byte[] ca = read(trustedCertificates, "CA file");
                certificates(ca, trustedCertificates, "CA file");
                tls.trustManager(new ByteArrayInputStream(ca));
            }
            if (clientCertificate != null) {
                byte[] cert = read(clientCertificate, "client certificate file");
                List<X509Certificate> chain = certificates(cert, clientCertificate, "client certificate file");
                byte[] key = read(clientKey, "client key file");
                checkKey(key, chain.get(0));
                tls.keyManager(new ByteArrayInputStream(cert), new ByteArrayInputStream(key));
            }
        } catch (IOException e) { // reading from byte arrays: does not happen
            throw new IllegalStateException(e);
        }
        return tls.build();
    }

    /**
     * The same files as a JDK {@link SSLContext}, for the plain HTTPS requests some etcd versions need where gRPC
     * cannot be used (the server version, see {@link ServerVersion}).
     *
     * @throws IllegalArgumentException as {@link #channelCredentials()}
     */
    public SSLContext sslContext() {
        try {
            TrustManager[] trust = null;
            if (trustedCertificates != null) {
                KeyStore cas = KeyStore.getInstance("PKCS12");
                cas.load(null, null);
                List<X509Certificate> certs = certificates(read(trustedCertificates, "CA file"), trustedCertificates,
                        "CA file");
                for (int i = 0; i < certs.size(); i++) {
                    cas.setCertificateEntry("ca" + i, certs.get(i));
                }
                TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
                tmf.init(cas);
                trust = tmf.getTrustManagers();
            }
            KeyManager[] keys = null;
            if (clientCertificate != null) {
                List<X509Certificate> chain = certificates(read(clientCertificate, "client certificate file"),
                        clientCertificate, "client certificate file");
                PrivateKey key = checkKey(read(clientKey, "client key file"), chain.get(0));
                char[] password = new char[0];
                KeyStore store = KeyStore.getInstance("PKCS12");
                store.load(null, null);
                store.setKeyEntry("client", key, password, chain.toArray(new X509Certificate[0]));
                KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                kmf.init(store, password);
                keys = kmf.getKeyManagers();
            }
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(keys, trust, null);
            return context;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalArgumentException("could not set up TLS with " + this + ": " + e.getMessage(), e);
        }
    }

    private static byte[] read(Path file, String what) {
        try {
            if (Files.isDirectory(file)) {
                throw new IllegalArgumentException(what + " " + file + " is a directory, not a PEM file");
            }
            if (Files.exists(file) && !Files.isRegularFile(file)) {
                throw new IllegalArgumentException(what + " " + file + " is not a regular file");
            }
            return Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException(what + " " + file + " does not exist", e);
        } catch (IOException e) {
            throw new IllegalArgumentException(what + " " + file + " cannot be read (" + e.getClass().getSimpleName()
                    + "): check that it exists and that this process may read it", e);
        }
    }

    /** The PEM certificates of the file, at least one. */
    private static List<X509Certificate> certificates(byte[] pem, Path file, String what) {
        String text = new String(pem, StandardCharsets.US_ASCII);
        List<X509Certificate> found = new ArrayList<>();
        Matcher m = PEM_BLOCK.matcher(text);
        CertificateFactory factory;
        try {
            factory = CertificateFactory.getInstance("X.509");
        } catch (CertificateException e) {
            throw new IllegalStateException("this JVM has no X.509 support", e);
        }
        while (m.find()) {
            if (!m.group(1).trim().toUpperCase(Locale.ROOT).endsWith("CERTIFICATE")) {
                continue;
            }
            try {
                byte[] der = Base64.getMimeDecoder().decode(m.group(2));
                found.add((X509Certificate) factory.generateCertificate(new ByteArrayInputStream(der)));
            } catch (IllegalArgumentException | CertificateException e) {
                throw new IllegalArgumentException(what + " " + file + ": certificate " + (found.size() + 1)
                        + " is not a valid X.509 certificate (" + e.getMessage() + ")", e);
            }
        }
        if (found.isEmpty()) {
            throw new IllegalArgumentException(what + " " + file + " holds no PEM certificate (-----BEGIN "
                    + "CERTIFICATE-----)" + whatItHolds(text, "certificate"));
        }
        return found;
    }

    /** Checks that the key is one gRPC can read and that it belongs to the certificate, and returns it. */
    private PrivateKey checkKey(byte[] pem, X509Certificate cert) {
        String text = new String(pem, StandardCharsets.US_ASCII);
        String label = null;
        Matcher begin = ANY_BEGIN.matcher(text);
        while (label == null && begin.find()) {
            String l = begin.group(1).trim().toUpperCase(Locale.ROOT);
            label = l.endsWith("PRIVATE KEY") ? l : null;
        }
        if (label == null) {
            throw new IllegalArgumentException("client key file " + clientKey + " holds no PEM private key "
                    + "(-----BEGIN PRIVATE KEY-----)" + whatItHolds(text, "key"));
        }
        String convert = "; convert it to unencrypted PKCS#8 (-----BEGIN PRIVATE KEY-----), which is what gRPC "
                + "reads, with: openssl pkey -in " + clientKey + " -out " + clientKey + ".pk8";
        if (label.contains("ENCRYPTED") || text.contains("Proc-Type: 4,ENCRYPTED")) {
            throw new IllegalArgumentException("client key file " + clientKey + " is encrypted with a passphrase, "
                    + "which etcd-lock cannot use" + convert + " (it asks for the passphrase) and protect the "
                    + "result with file permissions");
        }
        if (!label.equals("PRIVATE KEY")) {
            throw new IllegalArgumentException("client key file " + clientKey + " is in OpenSSL's traditional "
                    + "format (-----BEGIN " + label + "-----), which gRPC's TLS cannot read" + convert);
        }
        String body = null;
        Matcher block = PEM_BLOCK.matcher(text);
        while (body == null && block.find()) {
            body = block.group(1).trim().equalsIgnoreCase("PRIVATE KEY") ? block.group(2) : null;
        }
        if (body == null) {
            throw new IllegalArgumentException("client key file " + clientKey + " is not a well-formed PEM file "
                    + "(no base64 body or no -----END PRIVATE KEY----- line)");
        }
        String algorithm = cert.getPublicKey().getAlgorithm();
        String signature = SIGNATURES.get(algorithm);
        if (signature == null) {
            throw new IllegalArgumentException("client certificate " + clientCertificate + " has a " + algorithm
                    + " key, which gRPC's TLS cannot use: use an EC or RSA key");
        }
        PrivateKey key;
        try {
            key = KeyFactory.getInstance(algorithm).generatePrivate(
                    new PKCS8EncodedKeySpec(Base64.getMimeDecoder().decode(body)));
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            // no cause: a parser's message could quote the key's bytes
            throw new IllegalArgumentException("client key file " + clientKey + " is not a valid " + algorithm
                    + " private key for the certificate in " + clientCertificate + " (" + e.getClass().getSimpleName()
                    + ")");
        }
        if (!belongsTo(key, cert.getPublicKey(), signature)) {
            throw new IllegalArgumentException("the private key in " + clientKey + " does not belong to the "
                    + "certificate in " + clientCertificate + ": give the key the certificate was issued for");
        }
        return key;
    }

    /** True when a signature made with the key verifies with the certificate's public key. */
    private static boolean belongsTo(PrivateKey key, PublicKey publicKey, String algorithm) {
        byte[] data = new byte[32];
        new SecureRandom().nextBytes(data);
        try {
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(data);
            byte[] signed = signer.sign();
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(publicKey);
            verifier.update(data);
            return verifier.verify(signed);
        } catch (GeneralSecurityException e) {
            // a key the JDK parses but cannot sign with (an unusual curve): let the handshake judge it
            return true;
        }
    }

    /** What a file that lacks the expected PEM block holds instead, by its labels only (never its contents). */
    private static String whatItHolds(String text, String expected) {
        Matcher m = ANY_BEGIN.matcher(text);
        List<String> labels = new ArrayList<>();
        while (m.find()) {
            labels.add(m.group(1).trim());
        }
        if (labels.isEmpty()) {
            return ": it is not a PEM file"
                    + (expected.equals("certificate") ? " (a DER certificate converts with: openssl x509 -inform der "
                    + "-in FILE -out FILE.pem)" : "");
        }
        boolean key = labels.stream().anyMatch(l -> l.toUpperCase(Locale.ROOT).endsWith("PRIVATE KEY"));
        boolean cert = labels.stream().anyMatch(l -> l.toUpperCase(Locale.ROOT).endsWith("CERTIFICATE"));
        String swapped = (expected.equals("certificate") && key) || (expected.equals("key") && cert)
                ? " (are the certificate and the key swapped?)" : "";
        return ": it holds " + labels.stream().map(l -> "-----BEGIN " + l + "-----").distinct().toList() + swapped;
    }

    @Override
    public String toString() {
        return "TlsFiles[trustedCertificates=" + trustedCertificates + ", clientCertificate=" + clientCertificate
                + ", clientKey=" + clientKey + "]";
    }
}
