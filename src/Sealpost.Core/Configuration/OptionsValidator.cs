using System.Net;

namespace Sealpost.Core.Configuration;

/// <summary>
/// Checks options at start. Each problem names the key as it appears in the file, so the operator
/// can find it: "Limits:MaxRecipients: must be between 1 and 100000 (got 0)".
/// </summary>
public static class OptionsValidator
{
    public const string TestProfile = "test-only-insecure";
    public const string ProductionProfile = "production";

    /// <summary>Argon2id floors for production (OWASP 2023 minimum: m=19 MiB, t=2, p=1).</summary>
    public const int MinimumMemoryKiB = 19 * 1024;
    public const int MinimumIterations = 2;

    public static IReadOnlyList<string> Validate(SealpostOptions options)
    {
        var errors = new List<string>();

        if (string.IsNullOrWhiteSpace(options.DataDirectory))
        {
            errors.Add("DataDirectory: must be set");
        }

        if (string.IsNullOrWhiteSpace(options.Hostname) || Uri.CheckHostName(options.Hostname) != UriHostNameType.Dns)
        {
            errors.Add($"Hostname: must be a DNS host name (got '{options.Hostname}')");
        }

        if (options.Store.Kind is not ("sqlite" or "postgres"))
        {
            errors.Add($"Store:Kind: must be 'sqlite' or 'postgres' (got '{options.Store.Kind}')");
        }
        else if (options.Store.Kind == "postgres" && string.IsNullOrWhiteSpace(options.Store.ConnectionString))
        {
            errors.Add("Store:ConnectionString: must be set when Store:Kind is 'postgres'");
        }

        if (options.Audit.Store is not ("default" or "discard-benchmark-only"))
        {
            errors.Add($"Audit:Store: must be 'default' or 'discard-benchmark-only' (got '{options.Audit.Store}')");
        }

        Range(errors, "Audit:BusyTimeoutMilliseconds", options.Audit.BusyTimeoutMilliseconds, 100, 600_000);
        Range(errors, "Audit:SpoolMaxEvents", options.Audit.SpoolMaxEvents, 1, 100_000_000);
        Range(errors, "Audit:CheckpointIntervalSeconds", options.Audit.CheckpointIntervalSeconds, 1, 86_400);
        Range(errors, "Audit:GroupCommitMilliseconds", options.Audit.GroupCommitMilliseconds, 0, 1000);
        Range(errors, "Audit:CollectorIntervalSeconds", options.Audit.CollectorIntervalSeconds, 1, 86_400);
        if (!string.IsNullOrWhiteSpace(options.Audit.Collector)
            && (options.Audit.Collector.LastIndexOf(':') is var colon && (colon <= 0 || !int.TryParse(options.Audit.Collector[(colon + 1)..], out var port) || port is < 1 or > 65535)))
        {
            errors.Add($"Audit:Collector: must be host:port (got '{options.Audit.Collector}')");
        }

        if (!string.IsNullOrWhiteSpace(options.Audit.CollectorCaFile) && !File.Exists(options.Audit.CollectorCaFile))
        {
            errors.Add($"Audit:CollectorCaFile: no such file '{options.Audit.CollectorCaFile}'");
        }
        Range(errors, "Store:BusyTimeoutMilliseconds", options.Store.BusyTimeoutMilliseconds, 0, 600_000);
        Range(errors, "Store:InlineBlobMaxBytes", options.Store.InlineBlobMaxBytes, 0, 16 * 1024 * 1024);
        Range(errors, "Store:GroupCommitMaxOperations", options.Store.GroupCommitMaxOperations, 1, 10_000);
        Range(errors, "Store:OrphanGraceMinutes", options.Store.OrphanGraceMinutes, 1, 7 * 24 * 60);
        Range(errors, "Store:SweepIntervalMinutes", options.Store.SweepIntervalMinutes, 1, 7 * 24 * 60);

        if (options.Tls.MinimumProtocol is not ("Tls12" or "Tls13"))
        {
            errors.Add($"Tls:MinimumProtocol: must be 'Tls12' or 'Tls13' (got '{options.Tls.MinimumProtocol}')");
        }

        if (options.Tls.CipherSuites is not ("Default" or "AeadOnly"))
        {
            errors.Add($"Tls:CipherSuites: must be 'Default' or 'AeadOnly' (got '{options.Tls.CipherSuites}')");
        }

        Range(errors, "Tls:ReloadCheckSeconds", options.Tls.ReloadCheckSeconds, 0, 86_400);
        for (var i = 0; i < options.Tls.Certificates.Count; i++)
        {
            var c = options.Tls.Certificates[i];
            var key = $"Tls:Certificates:{i}";
            var hasPem = c.CertificateFile is not null || c.KeyFile is not null;
            if (c.Keystore is not null)
            {
                if (hasPem || c.Pkcs12File is not null)
                {
                    errors.Add($"{key}: Keystore is a source of its own; drop CertificateFile, KeyFile and Pkcs12File");
                }
                else if (c.Keystore.Length is 0 or > 64 || !c.Keystore.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '-' or '.' or '_'))
                {
                    errors.Add($"{key}:Keystore: '{c.Keystore}' is not a certificate name (letters, digits, '-', '.', '_')");
                }
            }
            else if (hasPem && c.Pkcs12File is not null)
            {
                errors.Add($"{key}: give either CertificateFile+KeyFile or Pkcs12File, not both");
            }
            else if (!hasPem && c.Pkcs12File is null)
            {
                errors.Add($"{key}: needs CertificateFile and KeyFile, or Pkcs12File");
            }
            else if (hasPem && (c.CertificateFile is null || c.KeyFile is null))
            {
                errors.Add($"{key}: CertificateFile and KeyFile go together");
            }

            foreach (var host in c.Hosts)
            {
                var bare = host.StartsWith("*.", StringComparison.Ordinal) ? host[2..] : host;
                if (Uri.CheckHostName(bare) != UriHostNameType.Dns)
                {
                    errors.Add($"{key}:Hosts: '{host}' is not a host name");
                }
            }
        }

        if (options.Delivery.TlsReports && (options.Delivery.TlsReportsFrom.Count(c => c == '@') != 1 || options.Delivery.TlsReportsFrom.Any(c => c <= ' ' || c is ',' or '<' or '>')))
        {
            errors.Add($"Delivery:TlsReportsFrom: '{options.Delivery.TlsReportsFrom}' is not an address (TLS reports need one, in one of our domains)");
        }

        Range(errors, "Delivery:TlsReportsCheckMinutes", options.Delivery.TlsReportsCheckMinutes, 1, 24 * 60);

        var acme = options.Tls.Acme;
        if (acme.DirectoryUrl.Length > 0)
        {
            if (!Uri.TryCreate(acme.DirectoryUrl, UriKind.Absolute, out var directory) || directory.Scheme != Uri.UriSchemeHttps)
            {
                errors.Add($"Tls:Acme:DirectoryUrl: '{acme.DirectoryUrl}' is not an https URL");
            }

            if (!TryParseEndpoint(acme.ChallengeListen, out _))
            {
                errors.Add($"Tls:Acme:ChallengeListen: '{acme.ChallengeListen}' is not address:port");
            }

            if (acme.Email.Length > 0 && (acme.Email.Count(c => c == '@') != 1 || acme.Email.Any(c => c <= ' ' || c == ',')))
            {
                errors.Add($"Tls:Acme:Email: '{acme.Email}' is not an address");
            }

            foreach (var host in acme.Hosts)
            {
                if (Uri.CheckHostName(host) != UriHostNameType.Dns || !host.Contains('.', StringComparison.Ordinal))
                {
                    errors.Add($"Tls:Acme:Hosts: '{host}' is not a fully qualified host name");
                }
            }

            if (options.Tls.Certificates.Any(c => c.Keystore == AcmeOptions.KeystoreName))
            {
                errors.Add($"Tls:Certificates: the keystore name '{AcmeOptions.KeystoreName}' is the ACME certificate's; import under another name");
            }
        }

        Range(errors, "Tls:Acme:RenewDaysBefore", acme.RenewDaysBefore, 1, 365);
        Range(errors, "Tls:Acme:CheckMinutes", acme.CheckMinutes, 1, 7 * 24 * 60);
        Range(errors, "Tls:Acme:RetrySeconds", acme.RetrySeconds, 1, 86_400);

        if (options.Http.Listen.Count == 0)
        {
            errors.Add("Http:Listen: needs at least one address:port");
        }

        for (var i = 0; i < options.Http.Listen.Count; i++)
        {
            if (!TryParseEndpoint(options.Http.Listen[i], out _))
            {
                errors.Add($"Http:Listen:{i}: '{options.Http.Listen[i]}' is not address:port (e.g. 0.0.0.0:443 or [::]:443)");
            }
        }

        foreach (var (name, list) in new[] { ("Smtp:InboundListen", options.Smtp.InboundListen), ("Smtp:SubmissionListen", options.Smtp.SubmissionListen), ("Smtp:SubmissionTlsListen", options.Smtp.SubmissionTlsListen), ("Imap:Listen", options.Imap.Listen), ("Imap:TlsListen", options.Imap.TlsListen) })
        {
            for (var i = 0; i < list.Count; i++)
            {
                if (!TryParseEndpoint(list[i], out _))
                {
                    errors.Add($"{name}:{i}: '{list[i]}' is not address:port");
                }
            }
        }

        if (options.Smtp.AuthenticationPolicy is not ("record" or "quarantine" or "reject"))
        {
            errors.Add($"Smtp:AuthenticationPolicy: must be 'record', 'quarantine' or 'reject' (got '{options.Smtp.AuthenticationPolicy}')");
        }

        for (var i = 0; i < options.Smtp.DnsServers.Count; i++)
        {
            if (!TryParseEndpoint(options.Smtp.DnsServers[i], out _))
            {
                errors.Add($"Smtp:DnsServers:{i}: '{options.Smtp.DnsServers[i]}' is not address:port");
            }
        }

        if (options.Smtp.BareLineEnds is not ("reject" or "normalize"))
        {
            errors.Add($"Smtp:BareLineEnds: must be 'reject' or 'normalize' (got '{options.Smtp.BareLineEnds}')");
        }

        Range(errors, "Smtp:CommandTimeoutSeconds", options.Smtp.CommandTimeoutSeconds, 1, 3600);
        Range(errors, "Smtp:DataTimeoutSeconds", options.Smtp.DataTimeoutSeconds, 1, 7200);
        Range(errors, "Smtp:CommandLineSeconds", options.Smtp.CommandLineSeconds, 1, 3600);
        Range(errors, "Smtp:MaxErrorsPerSession", options.Smtp.MaxErrorsPerSession, 1, 1000);
        Range(errors, "Smtp:QuotaGraceBytes", options.Smtp.QuotaGraceBytes, 0, long.MaxValue);
        Range(errors, "Smtp:LookupCacheSeconds", options.Smtp.LookupCacheSeconds, 0, 300);
        Range(errors, "Smtp:MtaStsMaxAgeDays", options.Smtp.MtaStsMaxAgeDays, 1, 365);
        if (options.Smtp.MtaStsMode is not ("none" or "testing" or "enforce"))
        {
            errors.Add($"Smtp:MtaStsMode: must be 'none', 'testing' or 'enforce' (got '{options.Smtp.MtaStsMode}')");
        }


        Range(errors, "Imap:MaxLineBytes", options.Imap.MaxLineBytes, 1024, 16 * 1024 * 1024);
        Range(errors, "Imap:AppendLimitBytes", options.Imap.AppendLimitBytes, 1024, 2L * 1024 * 1024 * 1024);
        Range(errors, "Imap:MaxBadCommands", options.Imap.MaxBadCommands, 1, 1000);
        Range(errors, "Imap:IdleTimeoutMinutes", options.Imap.IdleTimeoutMinutes, 30, 24 * 60); // RFC 9051 §5.4
        Range(errors, "Imap:PreAuthTimeoutSeconds", options.Imap.PreAuthTimeoutSeconds, 5, 3600);
        Range(errors, "Imap:CommandTimeoutSeconds", options.Imap.CommandTimeoutSeconds, 5, 7200);
        Range(errors, "Imap:MaxPreAuthLiteralBytes", options.Imap.MaxPreAuthLiteralBytes, 256, 1024 * 1024);
        Range(errors, "Imap:MaxSessionsPerAccount", options.Imap.MaxSessionsPerAccount, 1, 10_000);
        Range(errors, "Imap:LoginQueueBusyCommands", options.Imap.LoginQueueBusyCommands, -1, 10_000);
        Range(errors, "Imap:LoginQueueMaxWaitSeconds", options.Imap.LoginQueueMaxWaitSeconds, 1, 300);

        Range(errors, "Store:ChangeLogRetentionDays", options.Store.ChangeLogRetentionDays, 1, 3650);
        Range(errors, "Vault:MetadataCacheEntries", options.Vault.MetadataCacheEntries, 0, 10_000_000);
        Range(errors, "Vault:DeliveryBatchSeconds", options.Vault.DeliveryBatchSeconds, 0, 3600);
        Range(errors, "Vault:EnrolmentTokenHours", options.Vault.EnrolmentTokenHours, 0, 24 * 90);
        Range(errors, "Vault:AutoUnsealRetrySeconds", options.Vault.AutoUnsealRetrySeconds, 1, 3600);
        if (!string.IsNullOrWhiteSpace(options.Vault.Peer.Listen) && !TryParseEndpoint(options.Vault.Peer.Listen, out _))
        {
            errors.Add($"Vault:Peer:Listen: '{options.Vault.Peer.Listen}' is not host:port");
        }

        if (!string.IsNullOrWhiteSpace(options.Vault.Peer.Url) && !(Uri.TryCreate(options.Vault.Peer.Url, UriKind.Absolute, out var peer) && peer.Scheme == "https"))
        {
            errors.Add($"Vault:Peer:Url: '{options.Vault.Peer.Url}' is not an https:// URL");
        }

        if ((!string.IsNullOrWhiteSpace(options.Vault.Peer.Listen) || !string.IsNullOrWhiteSpace(options.Vault.Peer.Url))
            && (string.IsNullOrWhiteSpace(options.Vault.Peer.CertificateFile) || string.IsNullOrWhiteSpace(options.Vault.Peer.KeyFile)))
        {
            errors.Add("Vault:Peer: CertificateFile and KeyFile are needed to serve or use peer unseal");
        }

        var l = options.Limits;
        Range(errors, "Limits:MaxMessageBytes", l.MaxMessageBytes, 1024, 2L * 1024 * 1024 * 1024);
        Range(errors, "Limits:MaxMessageMemoryBytes", l.MaxMessageMemoryBytes, l.MaxMessageBytes, 1L << 40);
        Range(errors, "Limits:MessageSpillBytes", l.MessageSpillBytes, 0, 1L << 40);
        if (l.MaxMessageMemoryPerAddressBytes != 0)
        {
            Range(errors, "Limits:MaxMessageMemoryPerAddressBytes", l.MaxMessageMemoryPerAddressBytes, l.MaxMessageBytes, l.MaxMessageMemoryBytes);
        }
        Range(errors, "Limits:MaxRecipients", l.MaxRecipients, 1, 100_000);
        Range(errors, "Limits:MaxCommandLineBytes", l.MaxCommandLineBytes, 512, 1024 * 1024);
        Range(errors, "Limits:MaxMimeDepth", l.MaxMimeDepth, 1, 256);
        Range(errors, "Limits:MaxGroupNesting", l.MaxGroupNesting, 1, 64);
        Range(errors, "Limits:MaxExpandedRecipients", l.MaxExpandedRecipients, 1, 1_000_000);
        Range(errors, "Limits:MaxConnectionsPerIp", l.MaxConnectionsPerIp, 1, 100_000);
        Range(errors, "Limits:MaxAuthFailures", l.MaxAuthFailures, 1, 100);
        Range(errors, "Limits:MaxAuthFailuresPerAddress", l.MaxAuthFailuresPerAddress, 1, 100_000);
        Range(errors, "Limits:MaxAuthFailuresPerAccount", l.MaxAuthFailuresPerAccount, 1, 100_000);
        Range(errors, "Limits:AuthFailureWindowMinutes", l.AuthFailureWindowMinutes, 1, 24 * 60);
        Range(errors, "Limits:FamiliarAddressDays", l.FamiliarAddressDays, 0, 365);
        Range(errors, "Limits:DeletedAccountRetentionDays", l.DeletedAccountRetentionDays, 0, 3650);
        Range(errors, "Http:MaxRequestBodyBytes", options.Http.MaxRequestBodyBytes, 1024, 16 * 1024 * 1024);
        Range(errors, "Http:SessionMinutes", options.Http.SessionMinutes, 5, 7 * 24 * 60);
        Range(errors, "Http:SessionIdleMinutes", options.Http.SessionIdleMinutes, 5, 7 * 24 * 60);
        Range(errors, "Http:MaxTokenDays", options.Http.MaxTokenDays, 1, 3650);
        Range(errors, "Http:MaxPageSize", options.Http.MaxPageSize, 10, 10_000);
        Range(errors, "Limits:MaxConnections", l.MaxConnections, 1, 1_000_000);
        Range(errors, "Limits:ShutdownSeconds", l.ShutdownSeconds, 1, 3600);
        Range(errors, "Metrics:OtlpIntervalSeconds", options.Metrics.OtlpIntervalSeconds, 1, 3600);
        if (options.Metrics.OtlpEndpoint.Length > 0
            && !(Uri.TryCreate(options.Metrics.OtlpEndpoint, UriKind.Absolute, out var otlp) && otlp.Scheme is "http" or "https"))
        {
            errors.Add($"Metrics:OtlpEndpoint: must be an http or https URL, e.g. http://otel-collector:4318/v1/metrics (got '{options.Metrics.OtlpEndpoint}')");
        }
        Range(errors, "Limits:MinFreeDiskMegabytes", l.MinFreeDiskMegabytes, 0, 1L << 40);
        Range(errors, "Limits:DefaultQuotaBytes", l.DefaultQuotaBytes, 0, long.MaxValue);

        var p = options.PasswordHashing;
        if (p.Profile is not (ProductionProfile or TestProfile))
        {
            errors.Add($"PasswordHashing:Profile: must be '{ProductionProfile}' or '{TestProfile}' (got '{p.Profile}')");
        }
        else if (p.Profile == ProductionProfile)
        {
            Range(errors, "PasswordHashing:MemoryKiB", p.MemoryKiB, MinimumMemoryKiB, 4 * 1024 * 1024);
            Range(errors, "PasswordHashing:Iterations", p.Iterations, MinimumIterations, 100);
        }

        Range(errors, "PasswordHashing:MaxConcurrent", p.MaxConcurrent, 0, 1024);

        if (string.IsNullOrWhiteSpace(options.Vault.MasterKeyFile))
        {
            errors.Add("Vault:MasterKeyFile: must be set");
        }

        Range(errors, "Vault:LoginCacheSeconds", options.Vault.LoginCacheSeconds, 0, 86_400);
        Range(errors, "Vault:LoginCacheMaxEntries", options.Vault.LoginCacheMaxEntries, 1, 10_000_000);
        Range(errors, "Vault:GrantExpirySweepSeconds", options.Vault.GrantExpirySweepSeconds, 1, 3600);

        ValidateDelivery(errors, options);

        if (options.Smtp.OwnDomainSenders is not ("refuse" or "accept"))
        {
            errors.Add($"Smtp:OwnDomainSenders: must be 'refuse' or 'accept' (got '{options.Smtp.OwnDomainSenders}')");
        }

        foreach (var relay in options.Smtp.TrustedRelays)
        {
            if (!System.Net.IPNetwork.TryParse(relay, out _) && !IPAddress.TryParse(relay, out _))
            {
                errors.Add($"Smtp:TrustedRelays: '{relay}' is not an address or a network (CIDR)");
            }
        }

        if (options.Log.Level is not ("Trace" or "Debug" or "Information" or "Warning" or "Error" or "Critical"))
        {
            errors.Add($"Log:Level: must be one of Trace, Debug, Information, Warning, Error, Critical (got '{options.Log.Level}')");
        }

        if (options.Log.Format is not ("text" or "json"))
        {
            errors.Add($"Log:Format: must be 'text' or 'json' (got '{options.Log.Format}')");
        }

        return errors;
    }

    private static void ValidateDelivery(List<string> errors, SealpostOptions options)
    {
        var d = options.Delivery;
        Range(errors, "Delivery:MaxConcurrentDeliveries", d.MaxConcurrentDeliveries, 1, 10_000);
        Range(errors, "Delivery:MaxConnectionsPerDestination", d.MaxConnectionsPerDestination, 1, 1_000);
        Range(errors, "Delivery:MaxMessagesPerConnection", d.MaxMessagesPerConnection, 1, 100_000);
        Range(errors, "Delivery:IdleConnectionSeconds", d.IdleConnectionSeconds, 0, 3_600);
        Range(errors, "Delivery:LeaseSeconds", d.LeaseSeconds, 10, 86_400);
        Range(errors, "Delivery:PollSeconds", d.PollSeconds, 1, 3_600);
        Range(errors, "Delivery:WarnAfterHours", d.WarnAfterHours, 0, 24 * 30);
        Range(errors, "Delivery:ExpireAfterHours", d.ExpireAfterHours, 1, 24 * 30);
        Range(errors, "Delivery:ConnectTimeoutSeconds", d.ConnectTimeoutSeconds, 1, 600);
        Range(errors, "Delivery:CommandTimeoutSeconds", d.CommandTimeoutSeconds, 1, 3_600);
        Range(errors, "Delivery:TestMxPort", d.TestMxPort, 0, 65_535);
        Range(errors, "Delivery:TestMtaStsPort", d.TestMtaStsPort, 0, 65_535);
        Range(errors, "Delivery:MaxMessagesPerAccountPerHour", d.MaxMessagesPerAccountPerHour, 0, 10_000_000);
        Range(errors, "Delivery:MaxRecipientsPerAccountPerHour", d.MaxRecipientsPerAccountPerHour, 0, 100_000_000);
        for (var i = 0; i < d.RetryMinutes.Count; i++)
        {
            Range(errors, $"Delivery:RetryMinutes:{i}", d.RetryMinutes[i], 1, 7 * 24 * 60);
        }

        if (!string.IsNullOrWhiteSpace(d.SmartHost) && !IsHostPort(d.SmartHost))
        {
            errors.Add($"Delivery:SmartHost: must be host:port (got '{d.SmartHost}')");
        }

        foreach (var (domain, route) in d.Routes)
        {
            if (string.IsNullOrWhiteSpace(route.Host))
            {
                errors.Add($"Delivery:Routes:{domain}:Host: must be set");
            }

            Range(errors, $"Delivery:Routes:{domain}:Port", route.Port, 1, 65_535);
            if (route.Username is not null && (route.PasswordFile is null || !File.Exists(route.PasswordFile)))
            {
                errors.Add($"Delivery:Routes:{domain}:PasswordFile: must name an existing file when Username is set");
            }
        }

        if (options.PasswordHashing.Profile == ProductionProfile)
        {
            if (d.TestMxPort != 0)
            {
                errors.Add("Delivery:TestMxPort: test-only; refused with PasswordHashing:Profile 'production'");
            }

            if (d.TestMtaStsPort != 0)
            {
                errors.Add("Delivery:TestMtaStsPort: test-only; refused with PasswordHashing:Profile 'production'");
            }

            if (!string.IsNullOrWhiteSpace(d.TestTrustedRootsFile))
            {
                errors.Add("Delivery:TestTrustedRootsFile: test-only; refused with PasswordHashing:Profile 'production'");
            }
        }
    }

    private static bool IsHostPort(string text) =>
        text.LastIndexOf(':') is var colon and > 0 && int.TryParse(text[(colon + 1)..], out var port) && port is >= 1 and <= 65535;

    public static bool TryParseEndpoint(string text, out IPEndPoint endpoint) =>
        IPEndPoint.TryParse(text, out endpoint!) && text.Contains(':', StringComparison.Ordinal) && endpoint.Port is >= 0 and <= 65535;

    private static void Range(List<string> errors, string key, long value, long min, long max)
    {
        if (value < min || value > max)
        {
            errors.Add($"{key}: must be between {min} and {max} (got {value})");
        }
    }
}
