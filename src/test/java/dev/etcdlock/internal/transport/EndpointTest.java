package dev.etcdlock.internal.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class EndpointTest {

    @Test
    void parsesHttpHttpsAndBareHostPort() {
        assertEquals(new Endpoint("http", "127.0.0.1", 2379), Endpoint.parse("http://127.0.0.1:2379"));
        assertEquals(new Endpoint("https", "etcd.example", 2379), Endpoint.parse("HTTPS://etcd.example:2379/"));
        assertEquals(new Endpoint("http", "localhost", 23790), Endpoint.parse(" localhost:23790 "));
        assertEquals(new Endpoint("http", "::1", 2379), Endpoint.parse("http://[::1]:2379"));
        assertEquals("http://[::1]:2379", Endpoint.parse("http://[::1]:2379").toString());
    }

    @Test
    void refusesMalformedEndpointsNamingTheProblem() {
        assertMessage("empty", () -> Endpoint.parse(""));
        assertMessage("no port", () -> Endpoint.parse("http://127.0.0.1"));
        assertMessage("scheme 'unix'", () -> Endpoint.parse("unix://etcd.sock:1"));
        assertMessage("scheme 'ftp'", () -> Endpoint.parse("ftp://h:21"));
        assertMessage("out of range", () -> Endpoint.parse("http://h:70000"));
        assertMessage("no path", () -> Endpoint.parse("http://h:2379/v3/kv"));
        assertMessage("not a URL", () -> Endpoint.parse("http://h h:2379"));
        assertMessage("no host", () -> Endpoint.parse("http://:2379"));
    }

    @Test
    void listsSplitCommasDropDuplicatesAndRefuseMixedSchemes() {
        assertEquals(List.of(Endpoint.parse("http://a:1"), Endpoint.parse("http://b:2")),
                Endpoint.parseAll(List.of("http://a:1,http://b:2", "http://a:1")));
        assertMessage("no etcd endpoints", () -> Endpoint.parseAll(List.of()));
        assertMessage("mix http and https", () -> Endpoint.parseAll(List.of("http://a:1", "https://b:2")));
        assertMessage("empty", () -> Endpoint.parseAll(List.of("http://a:1,")));
    }

    private static void assertMessage(String expected, org.junit.jupiter.api.function.Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(expected), () -> "message '" + e.getMessage() + "' lacks '" + expected + "'");
    }
}
