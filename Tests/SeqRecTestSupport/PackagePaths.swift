// Where the tests find the package's files and the built `seqrec` binary.
import Foundation

public enum PackagePaths {
    /// The package root (this file is Tests/SeqRecTestSupport/PackagePaths.swift).
    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The converter's input fixtures (Tests/Fixtures/<name>).
    public static let fixtures = root.appendingPathComponent("Tests/Fixtures")

    /// One fixture folder's path.
    public static func fixture(_ name: String) -> String {
        fixtures.appendingPathComponent(name).path
    }

    /// The committed model files (Models/<name>.seqrec).
    public static func model(_ name: String) -> String {
        root.appendingPathComponent("Models/\(name).seqrec").path
    }

    /// The `seqrec` binary of the same build as the running test bundle: the nearest directory above
    /// the bundle that holds an executable `seqrec`.
    public static var seqrecExecutable: String {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while !FileManager.default.isExecutableFile(atPath: directory.appendingPathComponent("seqrec").path),
              directory.path != "/" {
            directory.deleteLastPathComponent()
        }
        return directory.appendingPathComponent("seqrec").path
    }
}
