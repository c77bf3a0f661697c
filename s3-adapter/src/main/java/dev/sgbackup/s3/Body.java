package dev.sgbackup.s3;

import java.io.IOException;
import okio.BufferedSink;

/** A request body that can be sent again on a retry. */
interface Body {
    long length();

    void writeTo(BufferedSink sink) throws IOException;

    /** Hex SHA-256 of the bytes (computed once). */
    String sha256Hex() throws IOException;

    /** Base64 MD5 of the bytes for Content-MD5 (computed once), or null if not needed. */
    String md5Base64() throws IOException;

    static Body of(byte[] bytes) {
        return new Body() {
            @Override
            public long length() {
                return bytes.length;
            }

            @Override
            public void writeTo(BufferedSink sink) throws IOException {
                sink.write(bytes);
            }

            @Override
            public String sha256Hex() {
                return SigV4.sha256Hex(bytes);
            }

            @Override
            public String md5Base64() {
                return java.util.Base64.getEncoder().encodeToString(SigV4.md5().digest(bytes));
            }
        };
    }
}
