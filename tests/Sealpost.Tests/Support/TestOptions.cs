using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Sealpost.Core.Configuration;
using Sealpost.Core.Logging;
using Sealpost.Core.Security;
using Sealpost.Core.Services;
using Sealpost.Core.Storage;
using Sealpost.Crypto;

namespace Sealpost.Tests.Support;

public static class TestOptions
{
    /// <summary>Options for a test data folder: the cheap Argon2id profile, loopback port 0.</summary>
    public static SealpostOptions For(string dataDirectory)
    {
        var options = new SealpostOptions
        {
            DataDirectory = dataDirectory,
            Hostname = "mail.example.test",
            PasswordHashing = new PasswordHashingOptions { Profile = OptionsValidator.TestProfile },
        };
        options.Http.Listen.Add("127.0.0.1:0");
        return options;
    }

    /// <summary>--set arguments that give the CLI the same test settings.</summary>
    public static string[] CliArgs(string dataDirectory) =>
        ["--data", dataDirectory, "--set", "PasswordHashing:Profile=" + OptionsValidator.TestProfile];

    public static IPasswordHasher Hasher() => new Argon2idPasswordHasher(new PasswordHashingOptions { Profile = OptionsValidator.TestProfile });

    public static DirectoryService Directory(ISealpostStore store, ILoggerFactory? loggers = null) =>
        new(store, Hasher(), new MailboxService(store.Mail, new PlaintextNameProtector()), LogRedactor.Ephemeral(),
            (loggers ?? NullLoggerFactory.Instance).CreateLogger<DirectoryService>());
}
