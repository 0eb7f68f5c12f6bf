using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Localization;
using Microsoft.Extensions.DependencyInjection;

namespace Sealpost.Web.Console;

/// <summary>
/// The web console: server-rendered Razor Pages under /console on the HTTPS listener. Every action goes
/// through the same domain services as the admin API (the permission matrix and the audit trail apply
/// unchanged); the session is the API's (one cookie, one sign-in, one sign-out everywhere).
/// English and Traditional Chinese, from Accept-Language or the language switch.
/// </summary>
public static class ConsoleSetup
{
    public const string Prefix = "/console";
    public const string CultureCookie = "__Host-sealpost-lang";
    public static readonly CultureInfo[] Cultures = [new("en"), new("zh-Hant")];

    public static void AddServices(IServiceCollection services)
    {
        services.AddLocalization();
        services.AddSingleton<ConsoleText>();
        services.AddAntiforgery(o =>
        {
            o.Cookie.Name = "__Host-sealpost-csrf";
            o.Cookie.SecurePolicy = CookieSecurePolicy.Always;
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.HttpOnly = true;
            o.FormFieldName = "__csrf";
            o.SuppressXFrameOptionsHeader = true; // set below, with the rest of the headers
        });
        services.AddRazorPages(o => o.RootDirectory = "/Console/Pages")
            .AddApplicationPart(typeof(ConsoleSetup).Assembly);
    }

    public static void Map(WebApplication app, ApiContext context)
    {
        app.UseWhen(http => http.Request.Path.StartsWithSegments(Prefix, StringComparison.Ordinal), console =>
        {
            console.Use(async (http, next) =>
            {
                // No inline script or style anywhere, nothing from another origin, never in a frame.
                var headers = http.Response.Headers;
                headers.ContentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
                headers.XFrameOptions = "DENY";
                headers.XContentTypeOptions = "nosniff";
                headers["Referrer-Policy"] = "no-referrer";
                headers.StrictTransportSecurity = "max-age=31536000";
                headers.CacheControl = "no-store";
                http.Items[ContextKey] = context;
                await next(http);
            });
            console.UseRequestLocalization(new RequestLocalizationOptions
            {
                DefaultRequestCulture = new RequestCulture("en"),
                SupportedCultures = Cultures,
                SupportedUICultures = Cultures,
                RequestCultureProviders =
                [
                    new QueryStringRequestCultureProvider(),
                    new CookieRequestCultureProvider { CookieName = CultureCookie },
                    new AcceptLanguageHeaderRequestCultureProvider(),
                ],
                FallBackToParentUICultures = true,
            });
        });
        app.MapGet(Prefix + "/console.css", () => Results.Text(Stylesheet.Css, "text/css; charset=utf-8"));
        // The language switch: a preference cookie, then back to the page (only ever a console page).
        app.MapGet(Prefix + "/language/{culture}", (HttpContext http, string culture, string? back) =>
        {
            if (Cultures.Any(c => c.Name == culture))
            {
                http.Response.Cookies.Append(CultureCookie, CookieRequestCultureProvider.MakeCookieValue(new RequestCulture(culture)),
                    new CookieOptions { Secure = true, HttpOnly = true, SameSite = SameSiteMode.Lax, Path = "/", MaxAge = TimeSpan.FromDays(365), IsEssential = true });
            }

            var target = back is { Length: > 0 } && back.StartsWith(Prefix, StringComparison.Ordinal) && !back.StartsWith("//", StringComparison.Ordinal) ? back : Prefix;
            return Results.Redirect(target);
        });
        app.MapRazorPages();
    }

    internal const string ContextKey = "sealpost.console";
}
