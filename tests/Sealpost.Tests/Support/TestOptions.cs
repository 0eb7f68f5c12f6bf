using Sealpost.Core.Configuration;
using Sealpost.Crypto.Primitives;
using Sealpost.Crypto.Vault;

namespace Sealpost.Tests.Support;

public static class TestOptions
{
    /// <summary>Options for a test data folder: the cheap Argon2id profile, loopback port 0, a master key file beside the folder.</summary>
    public static SealpostOptions For(string dataDirectory)
    {
        var options = new SealpostOptions
        {
            DataDirectory = dataDirectory,
            Hostname = "mail.example.test",
            PasswordHashing = new PasswordHashingOptions { Profile = OptionsValidator.TestProfile },
            Vault = new VaultOptions { MasterKeyFile = MasterKeyFile(dataDirectory) },
        };
        options.Http.Listen.Add("127.0.0.1:0");
        options.Smtp.InboundListen.Add("127.0.0.1:0");
        options.Smtp.SubmissionListen.Add("127.0.0.1:0");
        options.Smtp.SubmissionTlsListen.Add("127.0.0.1:0");
        options.Imap.Listen.Add("127.0.0.1:0");
        options.Imap.TlsListen.Add("127.0.0.1:0");
        options.Smtp.UseSystemDns = false; // no network here; sender-authentication tests bring their own DNS server
        options.Limits.ShutdownSeconds = 5; // a test's server stops within seconds even if a client is mid-command
        options.Limits.MinFreeDiskMegabytes = 0; // health must not depend on the test machine's free space; DiskFullTests set it
        return options;
    }

    /// <summary>--set arguments that put every listener of a child server on 127.0.0.1 port 0.</summary>
    public static readonly string[] LoopbackListeners =
    [
        "--set", "Http:Listen:0=127.0.0.1:0", "--set", "Smtp:InboundListen:0=127.0.0.1:0",
        "--set", "Smtp:SubmissionListen:0=127.0.0.1:0", "--set", "Smtp:SubmissionTlsListen:0=127.0.0.1:0",
        "--set", "Imap:Listen:0=127.0.0.1:0", "--set", "Imap:TlsListen:0=127.0.0.1:0",
        "--set", "Smtp:UseSystemDns=false",
    ];

    public static string MasterKeyFile(string dataDirectory) => dataDirectory.TrimEnd('/') + ".master.key";

    /// <summary>
    /// --set arguments that give the CLI the same test settings. Directory commands on a production
    /// folder run offline only as a recovery step (--recovery); the tests of those commands are that path.
    /// </summary>
    public static string[] CliArgs(string dataDirectory) =>
        ["--data", dataDirectory, "--recovery", "--set", "PasswordHashing:Profile=" + OptionsValidator.TestProfile, "--set", "Vault:MasterKeyFile=" + MasterKeyFile(dataDirectory)];

    /// <summary>A recovery key pair as the officers would make it: the public half in a file, the private half returned.</summary>
    public static (string PublicFile, byte[] PrivateKey) RecoveryKey(string folder)
    {
        var (privateKey, publicKey) = Hpke.GenerateKeyPair();
        var path = Path.Combine(folder, $"recovery-{Guid.NewGuid():N}.pub");
        KeyFiles.Write(path, KeyFiles.RecoveryPublicLabel, publicKey);
        return (path, privateKey);
    }
}
