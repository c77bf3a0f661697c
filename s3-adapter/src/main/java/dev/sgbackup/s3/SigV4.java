package dev.sgbackup.s3;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * AWS Signature Version 4. Two modes: generic (path normalised, path encoded once more on top of its wire
 * form, as the official test suite expects) and S3 (no normalisation, the decoded path encoded exactly once).
 * Nothing here logs or keeps the secret; results that contain a signature are only ever put in headers.
 */
final class SigV4 {
    static final String ALGORITHM = "AWS4-HMAC-SHA256";
    static final String EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    static final String UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD";
    private static final HexFormat HEX = HexFormat.of();

    private SigV4() {
    }

    /** A request's signature, the canonical request and string to sign it came from, and the header value. */
    record Signed(String canonicalRequest, String stringToSign, String signature, String signedHeaders,
                  String authorization) {
        @Override
        public String toString() {
            return "Signed[signedHeaders=" + signedHeaders + ", signature=<redacted>]";
        }
    }

    /**
     * Signs a request.
     *
     * @param wirePath  the path as sent on the wire (percent-encoded as the client sent it)
     * @param wireQuery the raw query string (without '?'), or null
     * @param headers   header name/value pairs in request order; all of them are signed
     */
    static Signed sign(boolean s3Mode, String method, String wirePath, String wireQuery,
                       List<Map.Entry<String, String>> headers, String payloadHash,
                       String accessKeyId, String secretKey, String amzDate, String region, String service) {
        TreeMap<String, List<String>> canon = new TreeMap<>();
        for (Map.Entry<String, String> h : headers) {
            canon.computeIfAbsent(h.getKey().toLowerCase(Locale.ROOT), k -> new ArrayList<>())
                    .add(trimAll(h.getValue()));
        }
        StringBuilder ch = new StringBuilder();
        for (Map.Entry<String, List<String>> e : canon.entrySet()) {
            ch.append(e.getKey()).append(':').append(String.join(",", e.getValue())).append('\n');
        }
        String signedHeaders = String.join(";", canon.keySet());
        String canonicalRequest = method + "\n"
                + canonicalUri(wirePath, s3Mode) + "\n"
                + canonicalQuery(wireQuery) + "\n"
                + ch + "\n"
                + signedHeaders + "\n"
                + payloadHash;
        String scope = scope(amzDate, region, service);
        String sts = ALGORITHM + "\n" + amzDate + "\n" + scope + "\n" + sha256Hex(canonicalRequest);
        byte[] key = signingKey(secretKey, amzDate.substring(0, 8), region, service);
        String signature = HEX.formatHex(hmac(key, sts));
        String authz = ALGORITHM + " Credential=" + accessKeyId + "/" + scope + ", SignedHeaders=" + signedHeaders
                + ", Signature=" + signature;
        return new Signed(canonicalRequest, sts, signature, signedHeaders, authz);
    }

    static String scope(String amzDate, String region, String service) {
        return amzDate.substring(0, 8) + "/" + region + "/" + service + "/aws4_request";
    }

    /** The signature of one chunk of a {@code STREAMING-AWS4-HMAC-SHA256-PAYLOAD} body. */
    static String chunkSignature(String secretKey, String amzDate, String region, String service,
                                 String previousSignature, byte[] chunk, int off, int len) {
        MessageDigest d = sha256();
        d.update(chunk, off, len);
        String sts = "AWS4-HMAC-SHA256-PAYLOAD\n" + amzDate + "\n" + scope(amzDate, region, service) + "\n"
                + previousSignature + "\n" + EMPTY_SHA256 + "\n" + HEX.formatHex(d.digest());
        return HEX.formatHex(hmac(signingKey(secretKey, amzDate.substring(0, 8), region, service), sts));
    }

    /** The signature of the trailing headers of a {@code STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER} body. */
    static String trailerSignature(String secretKey, String amzDate, String region, String service,
                                   String previousSignature, String trailerLines) {
        String sts = "AWS4-HMAC-SHA256-TRAILER\n" + amzDate + "\n" + scope(amzDate, region, service) + "\n"
                + previousSignature + "\n" + sha256Hex(trailerLines);
        return HEX.formatHex(hmac(signingKey(secretKey, amzDate.substring(0, 8), region, service), sts));
    }

    static String canonicalUri(String wirePath, boolean s3Mode) {
        if (wirePath == null || wirePath.isEmpty()) {
            return "/";
        }
        if (s3Mode) {
            return encode(percentDecode(wirePath), false);
        }
        return encode(normalize(wirePath), false);
    }

    /** Removes dot segments and empty segments, keeping a trailing slash. */
    static String normalize(String path) {
        Deque<String> out = new ArrayDeque<>();
        String[] parts = path.split("/", -1);
        for (String p : parts) {
            if (p.isEmpty() || p.equals(".")) {
                continue;
            }
            if (p.equals("..")) {
                out.pollLast();
            } else {
                out.addLast(p);
            }
        }
        String joined = "/" + String.join("/", out);
        boolean trailing = path.endsWith("/") || path.endsWith("/.") || path.endsWith("/..");
        if (trailing && !joined.endsWith("/")) {
            joined += "/";
        }
        return joined;
    }

    static String canonicalQuery(String wireQuery) {
        if (wireQuery == null || wireQuery.isEmpty()) {
            return "";
        }
        List<String[]> params = new ArrayList<>();
        for (String part : wireQuery.split("&")) {
            if (part.isEmpty()) {
                continue;
            }
            int eq = part.indexOf('=');
            String name = eq < 0 ? part : part.substring(0, eq);
            String value = eq < 0 ? "" : part.substring(eq + 1);
            params.add(new String[] {encode(percentDecode(name), true), encode(percentDecode(value), true)});
        }
        params.sort((a, b) -> {
            int c = a[0].compareTo(b[0]);
            return c != 0 ? c : a[1].compareTo(b[1]);
        });
        StringBuilder sb = new StringBuilder();
        for (String[] p : params) {
            if (sb.length() > 0) {
                sb.append('&');
            }
            sb.append(p[0]).append('=').append(p[1]);
        }
        return sb.toString();
    }

    /** AWS URI encoding: every byte but the unreserved characters {@code A-Za-z0-9-._~} (and '/' unless encodeSlash). */
    static String encode(String s, boolean encodeSlash) {
        StringBuilder sb = new StringBuilder(s.length() + 16);
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                    || c == '-' || c == '_' || c == '.' || c == '~' || (c == '/' && !encodeSlash)) {
                sb.append((char) c);
            } else {
                sb.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
            }
        }
        return sb.toString();
    }

    static String percentDecode(String s) {
        if (s.indexOf('%') < 0) {
            return s;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(s.length());
        byte[] in = s.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < in.length; i++) {
            if (in[i] == '%' && i + 2 < in.length && Character.digit(in[i + 1], 16) >= 0
                    && Character.digit(in[i + 2], 16) >= 0) {
                out.write(Character.digit(in[i + 1], 16) * 16 + Character.digit(in[i + 2], 16));
                i += 2;
            } else {
                out.write(in[i]);
            }
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    /** Trims and collapses runs of whitespace into one space (outside of nothing: AWS collapses even in quotes). */
    static String trimAll(String v) {
        StringBuilder sb = new StringBuilder(v.length());
        boolean space = false;
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
                space = true;
            } else {
                if (space && sb.length() > 0) {
                    sb.append(' ');
                }
                space = false;
                sb.append(c);
            }
        }
        return sb.toString();
    }

    static byte[] signingKey(String secretKey, String date, String region, String service) {
        byte[] k = hmac(("AWS4" + secretKey).getBytes(StandardCharsets.UTF_8), date);
        k = hmac(k, region);
        k = hmac(k, service);
        return hmac(k, "aws4_request");
    }

    static byte[] hmac(byte[] key, String data) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException | InvalidKeyException e) {
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static MessageDigest md5() {
        try {
            return MessageDigest.getInstance("MD5");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static String sha256Hex(String s) {
        return HEX.formatHex(sha256().digest(s.getBytes(StandardCharsets.UTF_8)));
    }

    static String sha256Hex(byte[] b) {
        return HEX.formatHex(sha256().digest(b));
    }

    static String hex(byte[] b) {
        return HEX.formatHex(b);
    }
}
