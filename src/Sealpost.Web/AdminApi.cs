using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Sealpost.Web.Endpoints;

namespace Sealpost.Web;

/// <summary>The admin REST API (v1) and its OpenAPI document at <see cref="OpenApiPath"/>.</summary>
public static class AdminApi
{
    public const string OpenApiPath = "/openapi/v1.json";

    public static void AddServices(IServiceCollection services)
    {
        // A query or route value that does not bind (limit=abc) throws, so the API's one catch answers it as a problem.
        services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        AddOpenApi(services);
    }

    private static void AddOpenApi(IServiceCollection services) => services.AddOpenApi("v1", options =>
        options.AddDocumentTransformer((document, _, _) =>
        {
            document.Info = new Microsoft.OpenApi.OpenApiInfo
            {
                Title = "Sealpost admin API",
                Version = "v1",
                Description = "Administration and self-service. Sign in at /api/v1/sign-in (password, and a TOTP code for every role above user); "
                    + "send the session cookie or 'Authorization: Bearer TOKEN'. Errors are RFC 9457 problem documents.",
            };
            document.Components ??= new Microsoft.OpenApi.OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, Microsoft.OpenApi.IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes["bearer"] = new Microsoft.OpenApi.OpenApiSecurityScheme
            {
                Type = Microsoft.OpenApi.SecuritySchemeType.Http,
                Scheme = "bearer",
                Description = "A session (sps_...) from sign-in, or an API token (spt_...)",
            };
            document.Components.SecuritySchemes["cookie"] = new Microsoft.OpenApi.OpenApiSecurityScheme
            {
                Type = Microsoft.OpenApi.SecuritySchemeType.ApiKey,
                In = Microsoft.OpenApi.ParameterLocation.Cookie,
                Name = ApiPipeline.CookieName,
                Description = "The session cookie set by sign-in",
            };
            document.Security ??= [];
            document.Security.Add(new Microsoft.OpenApi.OpenApiSecurityRequirement { [new Microsoft.OpenApi.OpenApiSecuritySchemeReference("bearer", document)] = [] });
            return Task.CompletedTask;
        }));

    public static void Map(WebApplication app, ApiContext context, ILogger logger)
    {
        app.Use(ApiPipeline.Middleware(context, logger));
        var api = app.MapGroup("/api/v1");
        AccessEndpoints.Map(api, context);
        DirectoryEndpoints.Map(api, context);
        OperationsEndpoints.Map(api, context);
        KeyEndpoints.Map(api, context);
        ClientConfigEndpoints.Map(app, context);
        app.MapOpenApi(OpenApiPath);
    }
}
