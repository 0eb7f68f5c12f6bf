using Sealpost.Core.Configuration;
using Sealpost.Server.Configuration;
using Sealpost.Tests.Support;

namespace Sealpost.Tests.Config;

[Collection(ProcessEnvironmentCollection.Name)]
public sealed class ConfigurationTests
{
    private static ConfigurationException LoadFails(string json)
    {
        using var folder = new TempFolder();
        var file = folder.Sub("sealpost.json");
        File.WriteAllText(file, json);
        return Assert.Throws<ConfigurationException>(() => ConfigurationLoader.Load(file, includeEnvironment: false));
    }

    [Fact]
    public void Defaults_are_valid()
    {
        var options = ConfigurationLoader.Load(null, includeEnvironment: false);
        Assert.Equal("sqlite", options.Store.Kind);
        Assert.Equal(["0.0.0.0:443"], options.Http.Listen);
        Assert.Equal(64 * 1024, options.PasswordHashing.MemoryKiB);
        Assert.Empty(OptionsValidator.Validate(options));
    }

    [Theory]
    [InlineData("""{"Hostname": "not a host"}""", "Hostname:")]
    [InlineData("""{"DataDirectory": ""}""", "DataDirectory:")]
    [InlineData("""{"Store": {"Kind": "oracle"}}""", "Store:Kind:")]
    [InlineData("""{"Smtp": {"MtaStsMode": "strict"}}""", "Smtp:MtaStsMode:")]
    [InlineData("""{"Smtp": {"MtaStsMaxAgeDays": 0}}""", "Smtp:MtaStsMaxAgeDays:")]
    [InlineData("""{"Limits": {"ShutdownSeconds": 0}}""", "Limits:ShutdownSeconds:")]
    [InlineData("""{"Metrics": {"OtlpEndpoint": "collector:4318"}}""", "Metrics:OtlpEndpoint:")]
    [InlineData("""{"Metrics": {"OtlpIntervalSeconds": 0}}""", "Metrics:OtlpIntervalSeconds:")]
    [InlineData("""{"Audit": {"Store": "nowhere"}}""", "Audit:Store:")]
    [InlineData("""{"Audit": {"BusyTimeoutMilliseconds": 0}}""", "Audit:BusyTimeoutMilliseconds:")]
    [InlineData("""{"Audit": {"SpoolMaxEvents": 0}}""", "Audit:SpoolMaxEvents:")]
    [InlineData("""{"Audit": {"CheckpointIntervalSeconds": 0}}""", "Audit:CheckpointIntervalSeconds:")]
    [InlineData("""{"Audit": {"GroupCommitMilliseconds": -1}}""", "Audit:GroupCommitMilliseconds:")]
    [InlineData("""{"Audit": {"Collector": "no-port"}}""", "Audit:Collector:")]
    [InlineData("""{"Delivery": {"TlsReports": true}}""", "Delivery:TlsReportsFrom:")]
    [InlineData("""{"Delivery": {"TlsReports": true, "TlsReportsFrom": "no at sign"}}""", "Delivery:TlsReportsFrom:")]
    [InlineData("""{"Delivery": {"TlsReportsCheckMinutes": 0}}""", "Delivery:TlsReportsCheckMinutes:")]
    [InlineData("""{"Audit": {"Collector": "host:99999"}}""", "Audit:Collector:")]
    [InlineData("""{"Audit": {"CollectorIntervalSeconds": 0}}""", "Audit:CollectorIntervalSeconds:")]
    [InlineData("""{"Audit": {"CollectorCaFile": "/nonexistent/ca.pem"}}""", "Audit:CollectorCaFile:")]
    [InlineData("""{"Store": {"InlineBlobMaxBytes": -1}}""", "Store:InlineBlobMaxBytes:")]
    [InlineData("""{"Store": {"GroupCommitMaxOperations": 0}}""", "Store:GroupCommitMaxOperations:")]
    [InlineData("""{"Store": {"BusyTimeoutMilliseconds": -5}}""", "Store:BusyTimeoutMilliseconds:")]
    [InlineData("""{"Store": {"OrphanGraceMinutes": 0}}""", "Store:OrphanGraceMinutes:")]
    [InlineData("""{"Store": {"SweepIntervalMinutes": 0}}""", "Store:SweepIntervalMinutes:")]
    [InlineData("""{"Tls": {"MinimumProtocol": "Tls10"}}""", "Tls:MinimumProtocol:")]
    [InlineData("""{"Tls": {"ReloadCheckSeconds": -1}}""", "Tls:ReloadCheckSeconds:")]
    [InlineData("""{"Tls": {"CipherSuites": "Export"}}""", "Tls:CipherSuites:")]
    [InlineData("""{"Tls": {"Acme": {"DirectoryUrl": "http://ca.example.test/dir"}}}""", "Tls:Acme:DirectoryUrl:")]
    [InlineData("""{"Tls": {"Acme": {"DirectoryUrl": "https://ca.example.test/dir", "ChallengeListen": "port80"}}}""", "Tls:Acme:ChallengeListen:")]
    [InlineData("""{"Tls": {"Acme": {"DirectoryUrl": "https://ca.example.test/dir", "Email": "not an address"}}}""", "Tls:Acme:Email:")]
    [InlineData("""{"Tls": {"Acme": {"DirectoryUrl": "https://ca.example.test/dir", "Hosts": ["localhost"]}}}""", "Tls:Acme:Hosts:")]
    [InlineData("""{"Tls": {"Acme": {"DirectoryUrl": "https://ca.example.test/dir"}, "Certificates": [{"Keystore": "acme"}]}}""", "Tls:Certificates:")]
    [InlineData("""{"Tls": {"Acme": {"RenewDaysBefore": 0}}}""", "Tls:Acme:RenewDaysBefore:")]
    [InlineData("""{"Tls": {"Acme": {"CheckMinutes": 0}}}""", "Tls:Acme:CheckMinutes:")]
    [InlineData("""{"Tls": {"Acme": {"RetrySeconds": 0}}}""", "Tls:Acme:RetrySeconds:")]
    [InlineData("""{"Smtp": {"LookupCacheSeconds": -1}}""", "Smtp:LookupCacheSeconds:")]
    [InlineData("""{"Smtp": {"LookupCacheSeconds": 3601}}""", "Smtp:LookupCacheSeconds:")]
    [InlineData("""{"Limits": {"MaxMessageBytes": 100000000, "MaxMessageMemoryBytes": 50000000}}""", "Limits:MaxMessageMemoryBytes:")]
    [InlineData("""{"Limits": {"MaxMessageBytes": 100000000, "MaxMessageMemoryPerAddressBytes": 50000000}}""", "Limits:MaxMessageMemoryPerAddressBytes:")]
    [InlineData("""{"Limits": {"MessageSpillBytes": -1}}""", "Limits:MessageSpillBytes:")]
    [InlineData("""{"Tls": {"Certificates": [{"CertificateFile": "a.pem"}]}}""", "Tls:Certificates:0:")]
    [InlineData("""{"Tls": {"Certificates": [{}]}}""", "Tls:Certificates:0:")]
    [InlineData("""{"Tls": {"Certificates": [{"CertificateFile": "a", "KeyFile": "b", "Pkcs12File": "c"}]}}""", "Tls:Certificates:0:")]
    [InlineData("""{"Tls": {"Certificates": [{"Pkcs12File": "c", "Hosts": ["bad host"]}]}}""", "Tls:Certificates:0:Hosts:")]
    [InlineData("""{"Http": {"Listen": ["nonsense"]}}""", "Http:Listen:0:")]
    [InlineData("""{"Http": {"Listen": ["127.0.0.1:99999"]}}""", "Http:Listen:0:")]
    [InlineData("""{"Limits": {"MaxMessageBytes": 10}}""", "Limits:MaxMessageBytes:")]
    [InlineData("""{"Limits": {"MaxRecipients": 0}}""", "Limits:MaxRecipients:")]
    [InlineData("""{"Limits": {"MaxCommandLineBytes": 100}}""", "Limits:MaxCommandLineBytes:")]
    [InlineData("""{"Limits": {"MaxMimeDepth": 0}}""", "Limits:MaxMimeDepth:")]
    [InlineData("""{"Limits": {"MaxGroupNesting": 0}}""", "Limits:MaxGroupNesting:")]
    [InlineData("""{"Limits": {"MaxExpandedRecipients": 0}}""", "Limits:MaxExpandedRecipients:")]
    [InlineData("""{"Limits": {"MaxConnectionsPerIp": 0}}""", "Limits:MaxConnectionsPerIp:")]
    [InlineData("""{"Limits": {"MaxAuthFailures": 0}}""", "Limits:MaxAuthFailures:")]
    [InlineData("""{"Limits": {"DefaultQuotaBytes": -1}}""", "Limits:DefaultQuotaBytes:")]
    [InlineData("""{"PasswordHashing": {"MemoryKiB": 1024}}""", "PasswordHashing:MemoryKiB:")]
    [InlineData("""{"PasswordHashing": {"Iterations": 1}}""", "PasswordHashing:Iterations:")]
    [InlineData("""{"PasswordHashing": {"MaxConcurrent": -1}}""", "PasswordHashing:MaxConcurrent:")]
    [InlineData("""{"PasswordHashing": {"Profile": "fast"}}""", "PasswordHashing:Profile:")]
    [InlineData("""{"Log": {"Level": "Loud"}}""", "Log:Level:")]
    [InlineData("""{"Log": {"Format": "xml"}}""", "Log:Format:")]
    [InlineData("""{"Limits": {"MaxRecipients": "many"}}""", "Limits:MaxRecipients: must be a whole number")]
    [InlineData("""{"Limits": {"MaxRecipent": 5}}""", "MaxRecipent")]
    [InlineData("""{"Pop3": {}}""", "Pop3")]
    [InlineData("""{"Imap": {"IdleTimeoutMinutes": 5}}""", "Imap:IdleTimeoutMinutes:")]
    [InlineData("""{"Imap": {"LoginQueueBusyCommands": -2}}""", "Imap:LoginQueueBusyCommands:")]
    [InlineData("""{"Imap": {"LoginQueueMaxWaitSeconds": 0}}""", "Imap:LoginQueueMaxWaitSeconds:")]
    [InlineData("""{"Imap": {"TlsListen": ["993"]}}""", "Imap:TlsListen:0:")]
    [InlineData("""{"Smtp": {"InboundListen": ["port 25"]}}""", "Smtp:InboundListen:0:")]
    [InlineData("""{"Smtp": {"BareLineEnds": "ignore"}}""", "Smtp:BareLineEnds:")]
    [InlineData("""{"Smtp": {"CommandTimeoutSeconds": 0}}""", "Smtp:CommandTimeoutSeconds:")]
    [InlineData("""{"Smtp": {"MaxErrorsPerSession": 0}}""", "Smtp:MaxErrorsPerSession:")]
    [InlineData("""{"Store": {"Kind": "postgres"}}""", "Store:ConnectionString:")]
    [InlineData("""{"Vault": {"LoginCacheSeconds": -1}}""", "Vault:LoginCacheSeconds:")]
    [InlineData("""{"Vault": {"DeliveryBatchSeconds": -1}}""", "Vault:DeliveryBatchSeconds:")]
    [InlineData("""{"Vault": {"DeliveryBatchSeconds": 3601}}""", "Vault:DeliveryBatchSeconds:")]
    [InlineData("""{"Tls": {"Certificates": [{"Keystore": "bad name"}]}}""", "Tls:Certificates:0:Keystore:")]
    public void Each_invalid_setting_is_named_in_the_error(string json, string expectedKey)
    {
        var ex = LoadFails(json);
        Assert.Contains(ex.Problems, p => p.Contains(expectedKey, StringComparison.Ordinal));
        Assert.All(ex.Problems, p => Assert.DoesNotContain('\n', p));
    }

    [Fact]
    public void Several_problems_are_reported_together()
    {
        var ex = LoadFails("""{"Limits": {"MaxRecipients": 0, "MaxMimeDepth": 0}, "Log": {"Level": "x"}}""");
        Assert.Equal(3, ex.Problems.Count);
    }

    [Fact]
    public void Broken_json_and_missing_files_give_one_line()
    {
        var broken = LoadFails("""{"Limits": {""");
        Assert.Contains("not valid JSON", Assert.Single(broken.Problems));
        var missing = Assert.Throws<ConfigurationException>(() => ConfigurationLoader.Load("/nonexistent/sealpost.json", includeEnvironment: false));
        Assert.Contains("does not exist", Assert.Single(missing.Problems));
    }

    [Fact]
    public void Environment_overrides_the_file_and_explicit_overrides_win()
    {
        using var folder = new TempFolder();
        var file = folder.Sub("sealpost.json");
        File.WriteAllText(file, """{"Limits": {"MaxRecipients": 10, "MaxMimeDepth": 5}, "Http": {"Listen": ["127.0.0.1:1443"]}}""");
        Environment.SetEnvironmentVariable("SEALPOST_Limits__MaxRecipients", "20");
        Environment.SetEnvironmentVariable("SEALPOST_Limits__MaxAuthFailures", "7");
        try
        {
            var options = ConfigurationLoader.Load(file, new Dictionary<string, string?> { ["Limits:MaxAuthFailures"] = "9" });
            Assert.Equal(20, options.Limits.MaxRecipients);
            Assert.Equal(5, options.Limits.MaxMimeDepth);
            Assert.Equal(9, options.Limits.MaxAuthFailures);
            Assert.Equal(["127.0.0.1:1443"], options.Http.Listen); // replaces the default, does not add to it
        }
        finally
        {
            Environment.SetEnvironmentVariable("SEALPOST_Limits__MaxRecipients", null);
            Environment.SetEnvironmentVariable("SEALPOST_Limits__MaxAuthFailures", null);
        }
    }

    [Fact]
    public void The_test_profile_skips_the_production_floors_but_nothing_else()
    {
        var options = new SealpostOptions { PasswordHashing = { Profile = OptionsValidator.TestProfile, MemoryKiB = 1, Iterations = 1 } }.WithListDefaults();
        Assert.Empty(OptionsValidator.Validate(options));
        options.Limits.MaxRecipients = 0;
        Assert.Single(OptionsValidator.Validate(options));
    }
}
