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

    public static void AddServices(IServiceCollection services) => services.AddOpenApi("v1");

    public static void Map(WebApplication app, ApiContext context, ILogger logger)
    {
        app.Use(ApiPipeline.Middleware(context, logger));
        var api = app.MapGroup("/api/v1");
        AccessEndpoints.Map(api, context);
        DirectoryEndpoints.Map(api, context);
        OperationsEndpoints.Map(api, context);
        app.MapOpenApi(OpenApiPath);
    }
}
