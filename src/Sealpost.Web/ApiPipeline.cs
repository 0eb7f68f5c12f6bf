using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Sealpost.Core;
using Sealpost.Core.Access;
using Sealpost.Domain.Administration;

namespace Sealpost.Web;

/// <summary>Marks an endpoint anyone may call (sign-in, health, version, the OpenAPI document).</summary>
public sealed class AnonymousEndpointAttribute : Attribute;

/// <summary>Marks an endpoint a session that has not passed its second factor may call (enrolment).</summary>
public sealed class RestrictedSessionAllowedAttribute : Attribute;

/// <summary>
/// What every API request goes through, in one place: the principal from the bearer token or the
/// session cookie, the restricted-session rule, and the one catch that turns every failure into an
/// RFC 9457 problem document (never a stack trace or an internal id).
/// </summary>
public static partial class ApiPipeline
{
    public const string CookieName = "__Host-sealpost";
    public const string ApiPrefix = "/api/";

    private const string PrincipalKey = "sealpost.principal";

    /// <summary>JSON as the API reads and writes it: camelCase, enums as kebab-case strings, unknown fields refused.</summary>
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        // Responses are application/json, never HTML: no need to escape quotes and '<' for a page.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
    };

    public static ApiPrincipal Principal(this HttpContext http) =>
        http.Items[PrincipalKey] as ApiPrincipal ?? throw new InvalidOperationException("endpoint without a principal");

    /// <summary>The principal, or null on an anonymous endpoint.</summary>
    public static ApiPrincipal? OptionalPrincipal(this HttpContext http) => http.Items[PrincipalKey] as ApiPrincipal;

    public static string CorrelationId(this HttpContext http) => http.TraceIdentifier;

    public static Actor ClientActor(this HttpContext http, string? claimedName = null) =>
        Actor.Anonymous("api", http.Connection.RemoteIpAddress?.ToString(), claimedName?.Trim(), correlationId: http.CorrelationId());

    /// <summary>Marks an endpoint with the operation of the permission matrix it performs.</summary>
    public static TBuilder Requires<TBuilder>(this TBuilder builder, Operation operation)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new RequiresAttribute(operation));

    public static TBuilder Anonymous<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder => builder.WithMetadata(new AnonymousEndpointAttribute());

    public static TBuilder AllowRestricted<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder => builder.WithMetadata(new RestrictedSessionAllowedAttribute());

    /// <summary>The middleware: authenticate, then run the endpoint inside the one catch.</summary>
    public static Func<HttpContext, RequestDelegate, Task> Middleware(ApiContext api, ILogger logger) => async (http, next) =>
    {
        if (!http.Request.Path.StartsWithSegments("/api", StringComparison.Ordinal))
        {
            await next(http);
            return;
        }

        http.Response.Headers.CacheControl = "no-store";
        try
        {
            var endpoint = http.GetEndpoint();
            if (endpoint?.Metadata.GetMetadata<RequiresAttribute>() is null)
            {
                // No endpoint, or one routing made to reject the request (wrong method, wrong media type).
                var display = endpoint?.DisplayName ?? "";
                if (display.Contains("405", StringComparison.Ordinal))
                {
                    await Problem(http, StatusCodes.Status405MethodNotAllowed, "method-not-allowed", "Method not allowed", $"{http.Request.Method} is not allowed on {Printable(http.Request.Path)}");
                }
                else if (display.Contains("415", StringComparison.Ordinal))
                {
                    await Problem(http, StatusCodes.Status415UnsupportedMediaType, "unsupported-media-type", "Send JSON", "the body must be application/json");
                }
                else
                {
                    await Problem(http, StatusCodes.Status404NotFound, "not-found", "No such endpoint", $"{http.Request.Method} {Printable(http.Request.Path)} is not part of the API (see /openapi/v1.json)");
                }

                return;
            }

            if (endpoint.Metadata.GetMetadata<AnonymousEndpointAttribute>() is null)
            {
                var secret = BearerOrCookie(http);
                var principal = secret is null ? null : await api.Access.AuthenticateAsync(secret, http.Connection.RemoteIpAddress?.ToString(), http.CorrelationId(), http.RequestAborted);
                if (principal is null)
                {
                    http.Response.Headers.WWWAuthenticate = "Bearer realm=\"sealpost\"";
                    await Problem(http, StatusCodes.Status401Unauthorized, "unauthenticated", "Sign in first",
                        secret is null ? "send a session cookie or 'Authorization: Bearer TOKEN'" : "the session or token is unknown, expired or revoked, or its account is not active");
                    return;
                }

                if (secret is not null && http.Request.Headers.Authorization.Count == 0 && !IsSafe(http.Request.Method) && !SameOrigin(http))
                {
                    // A cookie sent along by another site's page (SameSite=Strict should already stop it).
                    await Problem(http, StatusCodes.Status403Forbidden, "cross-origin", "Cross-origin request refused",
                        "a change made with the session cookie must come from this server's own pages");
                    return;
                }

                if (principal.Restricted && endpoint.Metadata.GetMetadata<RestrictedSessionAllowedAttribute>() is null)
                {
                    await Problem(http, StatusCodes.Status403Forbidden, "second-factor-required", "Enrol a second factor first",
                        "your roles need TOTP: POST /api/v1/me/totp, confirm a code, then sign in again with it");
                    return;
                }

                if (principal.Domains.Count > 0 && endpoint is Microsoft.AspNetCore.Routing.RouteEndpoint routed
                    && await DomainLimit.RefusalAsync(http, routed, principal.Domains, api.MaxRequestBodyBytes) is { } outside)
                {
                    await api.Access.RecordOutsideDomainsAsync(endpoint.Metadata.GetMetadata<RequiresAttribute>()!.Operation, principal, Printable(http.Request.Path));
                    await Problem(http, StatusCodes.Status403Forbidden, "forbidden", "Not permitted", outside);
                    return;
                }

                http.Items[PrincipalKey] = principal;
            }

            await next(http);
        }
        catch (SealpostException ex)
        {
            await FromException(http, ex);
        }
        catch (ApiInputException ex)
        {
            await Problem(http, ex.Status, ex.Type, ex.Title, ex.Message, ex.Errors);
        }
        catch (BadHttpRequestException ex)
        {
            if (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                await Problem(http, ex.StatusCode, "too-large", "Request body too large", $"the body may be at most {api.MaxRequestBodyBytes} bytes");
            }
            else if (BindFailure().Match(ex.Message) is { Success: true } bind)
            {
                var field = bind.Groups[1].Value;
                await Problem(http, StatusCodes.Status400BadRequest, "malformed", "Malformed request", $"{field}: not a valid value",
                    new Dictionary<string, string[]> { [field] = ["not a valid value"] });
            }
            else
            {
                await Problem(http, StatusCodes.Status400BadRequest, "bad-request", "Bad request", "the request could not be read");
            }
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            // The client went away.
        }
#pragma warning disable CA1031 // the one catch: anything else is a bug, answered without details
        catch (Exception ex)
#pragma warning restore CA1031
        {
            WebLog.Unhandled(logger, http.CorrelationId(), ex);
            await Problem(http, StatusCodes.Status500InternalServerError, "internal", "Internal error",
                $"the server failed; quote correlation id {http.CorrelationId()} to its operators");
        }
    };

    private static bool IsSafe(string method) => HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method);

    // Origin (or, without it, Sec-Fetch-Site) must name this server when a browser sends one; scripts send neither.
    private static bool SameOrigin(HttpContext http)
    {
        var origin = http.Request.Headers.Origin.ToString();
        if (origin.Length > 0)
        {
            return Uri.TryCreate(origin, UriKind.Absolute, out var o) && string.Equals(o.Authority, http.Request.Host.Value, StringComparison.OrdinalIgnoreCase);
        }

        var site = http.Request.Headers["Sec-Fetch-Site"].ToString();
        return site.Length == 0 || site is "same-origin" or "none";
    }

    private static string? BearerOrCookie(HttpContext http)
    {
        var header = http.Request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return header[7..].Trim();
        }

        return http.Request.Cookies.TryGetValue(CookieName, out var cookie) ? cookie : null;
    }

    /// <summary>Service errors as problem documents: the status each kind means, and the field a message names.</summary>
    public static Task FromException(HttpContext http, SealpostException ex)
    {
        var (status, type, title) = ex.Kind switch
        {
            ErrorKind.InvalidInput => (StatusCodes.Status422UnprocessableEntity, "invalid", "Invalid value"),
            ErrorKind.NotFound => (StatusCodes.Status404NotFound, "not-found", "Not found"),
            ErrorKind.Conflict => (StatusCodes.Status409Conflict, "conflict", "Conflict"),
            ErrorKind.Forbidden => (StatusCodes.Status403Forbidden, "forbidden", "Not permitted"),
            ErrorKind.LimitExceeded => (StatusCodes.Status429TooManyRequests, "limit", "Limit exceeded"),
            _ => (StatusCodes.Status503ServiceUnavailable, "unavailable", "Temporarily unavailable"),
        };
        if (status == StatusCodes.Status503ServiceUnavailable)
        {
            http.Response.Headers.RetryAfter = "30";
        }

        var field = FieldMessage().Match(ex.Message);
        var errors = status == StatusCodes.Status422UnprocessableEntity
            ? new Dictionary<string, string[]> { [field.Success ? field.Groups[1].Value : "body"] = [field.Success ? field.Groups[2].Value : ex.Message] }
            : null;
        return Problem(http, status, type, title, ex.Message, errors);
    }

    /// <summary>Writes an RFC 9457 problem document.</summary>
    public static async Task Problem(HttpContext http, int status, string type, string title, string detail, IReadOnlyDictionary<string, string[]>? errors = null)
    {
        if (http.Response.HasStarted)
        {
            return;
        }

        http.Response.StatusCode = status;
        http.Response.ContentType = "application/problem+json";
        var body = new ProblemDocument("https://sealpost.invalid/problems/" + type, title, status, detail, Printable(http.Request.Path), http.CorrelationId(), errors);
        await JsonSerializer.SerializeAsync(http.Response.Body, body, Json, http.RequestAborted);
    }

    /// <summary>Reads a JSON body: application/json, at most the named limit, known fields only, required fields present.</summary>
    public static async Task<T> Body<T>(this HttpContext http, int maxBytes)
    {
        var request = http.Request;
        if (request.ContentType is not { } type || !type.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
        {
            throw new ApiInputException(StatusCodes.Status415UnsupportedMediaType, "unsupported-media-type", "Send JSON", "the body must be application/json");
        }

        if (request.ContentLength > maxBytes)
        {
            throw TooLarge(maxBytes);
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, http.RequestAborted)) > 0)
        {
            if (buffer.Length + read > maxBytes)
            {
                throw TooLarge(maxBytes);
            }

            buffer.Write(chunk, 0, read);
        }

        try
        {
            return JsonSerializer.Deserialize<T>(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), Json)
                ?? throw new ApiInputException(StatusCodes.Status400BadRequest, "malformed", "Malformed JSON", "the body is null; send a JSON object");
        }
        catch (JsonException ex)
        {
            throw FromJson(ex);
        }
    }

    /// <summary>Runs a service call whose password-policy errors ("password must ...") are about one request field.</summary>
    public static async Task<T> ForField<T>(string field, Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (SealpostException ex) when (ex.Kind == ErrorKind.InvalidInput && ex.Message.StartsWith("password ", StringComparison.Ordinal))
        {
            throw new ApiInputException(StatusCodes.Status422UnprocessableEntity, "invalid", "Invalid value", $"{field}: {ex.Message}",
                new Dictionary<string, string[]> { [field] = [ex.Message] });
        }
    }

    public static Task ForField(string field, Func<Task> call) => ForField(field, async () =>
    {
        await call();
        return true;
    });

    private static ApiInputException TooLarge(int maxBytes) =>
        new(StatusCodes.Status413PayloadTooLarge, "too-large", "Request body too large", $"the body may be at most {maxBytes} bytes");

    private static ApiInputException FromJson(JsonException ex)
    {
        // The serializer's messages name .NET types; say it in terms of the request instead.
        var message = ex.Message;
        if (UnknownField().Match(message) is { Success: true } unknown)
        {
            return Invalid400(unknown.Groups[1].Value, "is not a field of this request");
        }

        if (MissingFields().Match(message) is { Success: true } missing)
        {
            var names = Regex.Matches(missing.Groups[1].Value, "'([^']+)'").Select(m => m.Groups[1].Value).ToList();
            return new ApiInputException(StatusCodes.Status400BadRequest, "malformed", "Required fields missing", "required fields are missing: " + string.Join(", ", names),
                names.ToDictionary(n => n, _ => new[] { "is required" }));
        }

        var path = ex.Path is { Length: > 2 } p ? p[2..] : "body";
        return Invalid400(path, message.Contains("null", StringComparison.Ordinal) ? "must not be null" : "is not valid JSON of the expected type");
    }

    private static ApiInputException Invalid400(string field, string message) =>
        new(StatusCodes.Status400BadRequest, "malformed", "Malformed request", $"{field}: {message}", new Dictionary<string, string[]> { [field] = [message] });

    /// <summary>A path or value as it may appear in a reply: no control characters, bounded.</summary>
    public static string Printable(string? text)
    {
        var value = WebUtility.UrlDecode(text ?? "");
        var clean = new string(value.Where(c => !char.IsControl(c)).Take(200).ToArray());
        return clean;
    }

    [GeneratedRegex(@"parameter ""[^""]*?(\w+)"" from", RegexOptions.Singleline)]
    private static partial Regex BindFailure();

    [GeneratedRegex(@"^([a-zA-Z]+): (.+)$", RegexOptions.Singleline)]
    private static partial Regex FieldMessage();

    [GeneratedRegex("The JSON property '([^']*)' could not be mapped")]
    private static partial Regex UnknownField();

    [GeneratedRegex("missing required properties including: (.*)$", RegexOptions.Singleline)]
    private static partial Regex MissingFields();
}

/// <summary>RFC 9457 problem details, with field-level messages for validation failures.</summary>
public sealed record ProblemDocument(string Type, string Title, int Status, string Detail, string Instance, string CorrelationId, IReadOnlyDictionary<string, string[]>? Errors);

/// <summary>An input the API refuses before any service sees it.</summary>
public sealed class ApiInputException(int status, string type, string title, string message, IReadOnlyDictionary<string, string[]>? errors = null) : Exception(message)
{
    public int Status { get; } = status;
    public string Type { get; } = type;
    public string Title { get; } = title;
    public IReadOnlyDictionary<string, string[]>? Errors { get; } = errors;

    public static ApiInputException Field(string field, string message) =>
        new(StatusCodes.Status400BadRequest, "malformed", "Malformed request", $"{field}: {message}", new Dictionary<string, string[]> { [field] = [message] });
}

internal static partial class WebLog
{
    [LoggerMessage(EventId = 8000, Level = LogLevel.Error, Message = "API request {CorrelationId} failed unexpectedly")]
    public static partial void Unhandled(ILogger logger, string correlationId, Exception exception);
}
