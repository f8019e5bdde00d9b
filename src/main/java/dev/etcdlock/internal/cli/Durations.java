package dev.etcdlock.internal.cli;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses durations as etcdctl's flags take them: Go's {@code time.ParseDuration} syntax ({@code 500ms}, {@code 10s},
 * {@code 1m30s}, {@code 1.5h}; units ns, us, µs, ms, s, m, h), plus a bare number meaning seconds, as in
 * {@code etcdctl lock --ttl 10}.
 */
final class Durations {
    private static final Pattern BARE = Pattern.compile("\\d+(\\.\\d*)?|\\.\\d+");
    private static final Pattern PART = Pattern.compile("(\\d+(?:\\.\\d*)?|\\.\\d+)(ns|us|µs|μs|ms|s|m|h)");

    private Durations() {
    }

    /**
     * @throws IllegalArgumentException naming the flag and the accepted forms when {@code text} is not a duration
     */
    static Duration parse(String flag, String text) {
        String s = text.strip();
        if (s.startsWith("-")) {
            throw new IllegalArgumentException(flag + " must be positive, was " + text);
        }
        if (BARE.matcher(s).matches()) {
            return nanos(flag, text, new BigDecimal(s).multiply(BigDecimal.valueOf(1_000_000_000L)));
        }
        Matcher m = PART.matcher(s);
        BigDecimal total = BigDecimal.ZERO;
        int at = 0;
        while (at < s.length() && m.find(at) && m.start() == at) {
            total = total.add(new BigDecimal(m.group(1)).multiply(BigDecimal.valueOf(unitNanos(m.group(2)))));
            at = m.end();
        }
        if (s.isEmpty() || at != s.length()) {
            throw new IllegalArgumentException(flag + ": '" + text + "' is not a duration; use seconds (10) or a "
                    + "number with a unit: 500ms, 10s, 2m, 1m30s, 1h");
        }
        return nanos(flag, text, total);
    }

    private static Duration nanos(String flag, String text, BigDecimal nanos) {
        try {
            return Duration.ofNanos(nanos.setScale(0, java.math.RoundingMode.CEILING).longValueExact());
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException(flag + ": '" + text + "' is too long a duration");
        }
    }

    private static long unitNanos(String unit) {
        return switch (unit) {
            case "ns" -> 1L;
            case "us", "µs", "μs" -> 1_000L;
            case "ms" -> 1_000_000L;
            case "s" -> 1_000_000_000L;
            case "m" -> 60_000_000_000L;
            case "h" -> 3_600_000_000_000L;
            default -> throw new IllegalStateException(unit);
        };
    }

    /** {@code 1.5 s}, {@code 500 ms}: for messages. */
    static String format(Duration d) {
        long ms = d.toMillis();
        if (ms % 1000 == 0) {
            return ms / 1000 + " s";
        }
        return ms >= 1000 ? BigDecimal.valueOf(ms, 3).stripTrailingZeros().toPlainString() + " s" : ms + " ms";
    }
}
