package dev.sgbackup.store.volume;

import dev.sgbackup.store.MemoryStoreIo;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/** Test helper: a printable snapshot of everything a volume restore must reproduce. */
final class Trees {
    private Trees() {
    }

    /**
     * rel path -> "type mode uid:gid mtime size/sha-or-target [link group]" for every entry under root (not
     * following links). Hard links show the first name (in walk order sorted) of their inode.
     */
    static Map<String, String> snapshot(Path root) {
        Map<String, String> out = new TreeMap<>();
        Map<Object, String> inodes = new HashMap<>();
        Map<String, Object> inodeOf = new TreeMap<>();
        try {
            Files.walkFileTree(root, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                    out.put(rel(root, dir) + "/", describe(dir));
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    out.put(rel(root, file), describe(file));
                    if (attrs.isRegularFile()) {
                        inodeOf.put(rel(root, file), attrs.fileKey());
                    }
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        inodeOf.forEach((rel, key) -> {
            String first = inodes.putIfAbsent(key, rel);
            out.put(rel, out.get(rel) + " inode-of=" + (first == null ? rel : first));
        });
        return out;
    }

    static String rel(Path root, Path p) {
        return root.equals(p) ? "." : root.relativize(p).toString();
    }

    static String describe(Path p) throws IOException {
        Map<String, Object> a = Files.readAttributes(p, "unix:mode,uid,gid,lastModifiedTime,size,isSymbolicLink,"
                + "isDirectory,isRegularFile", LinkOption.NOFOLLOW_LINKS);
        int mode = (Integer) a.get("mode");
        StringBuilder sb = new StringBuilder();
        sb.append(Integer.toOctalString(mode)).append(' ').append(a.get("uid")).append(':').append(a.get("gid"));
        if ((Boolean) a.get("isSymbolicLink")) {
            return sb.append(" -> ").append(Files.readSymbolicLink(p)).toString(); // link mtime/mode: cosmetic
        }
        sb.append(" mtime=").append(((FileTime) a.get("lastModifiedTime")).toMillis() / 1000);
        if ((Boolean) a.get("isRegularFile")) {
            sb.append(" size=").append(a.get("size")).append(" sha=").append(sha(p));
        }
        return sb.toString();
    }

    static String sha(Path p) throws IOException {
        MessageDigest md = MemoryStoreIo.sha256();
        byte[] buf = new byte[1 << 20];
        try (InputStream in = Files.newInputStream(p)) {
            int n;
            while ((n = in.read(buf)) > 0) {
                md.update(buf, 0, n);
            }
        }
        return java.util.HexFormat.of().formatHex(md.digest()).substring(0, 16);
    }
}
