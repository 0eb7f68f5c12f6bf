using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Sealpost.Core.Access;
using Sealpost.Core.Audit;

namespace Sealpost.Web.Endpoints;

/// <summary>Health and version, queue metadata (never content), and the audit trail for auditors.</summary>
internal static class OperationsEndpoints
{
    public static void Map(RouteGroupBuilder api, ApiContext ctx)
    {
        api.MapGet("/health", async (HttpContext http, CancellationToken _) =>
        {
            var (status, report) = await ctx.Health(http.RequestAborted);
            return Results.Json(report, ApiPipeline.Json, statusCode: status);
        }).Anonymous().Requires(Operation.Login);

        api.MapGet("/metrics", async (HttpContext http, CancellationToken _) =>
            Results.Text(await ctx.Configuration.ReadMetricsAsync(http.Principal().Actor, ctx.Metrics ?? (() => ""), http.RequestAborted), "text/plain; version=0.0.4; charset=utf-8"))
            .Requires(Operation.ConfigurationRead);

        api.MapGet("/nodes", async (HttpContext http, CancellationToken _) =>
            Results.Json((await ctx.Configuration.ListNodesAsync(http.Principal().Actor, TimeSpan.FromDays(30), http.RequestAborted))
                .Select(n => new NodeResponse(n.Node, n.Running, n.StartedAt, n.Started, n.StoppedAt)).ToList(), ApiPipeline.Json))
            .Requires(Operation.ConfigurationRead).Produces<List<NodeResponse>>();

        api.MapGet("/version", () => Results.Json(new VersionResponse("Sealpost", ctx.Version, "v1"), ApiPipeline.Json))
            .Anonymous().Requires(Operation.Login).Produces<VersionResponse>();

        api.MapGet("/queue", async (HttpContext http, CancellationToken _) =>
            Results.Json(Paging.Of(await ctx.Queue.ListAsync(http.Principal().Actor, http.RequestAborted), e => e.Id.ToString("D19", System.Globalization.CultureInfo.InvariantCulture),
                Dto.Queue, http, ctx.MaxPageSize), ApiPipeline.Json))
            .Requires(Operation.QueueRead).Produces<Page<QueueEntryResponse>>();

        api.MapGet("/queue/{id:long}", async (HttpContext http, long id) =>
            Results.Json(Dto.Queue(await ctx.Queue.ShowAsync(http.Principal().Actor, id, http.RequestAborted)), ApiPipeline.Json))
            .Requires(Operation.QueueRead).Produces<QueueEntryResponse>();

        api.MapPost("/queue/{id:long}/hold", (HttpContext http, long id) => Run(() => ctx.Queue.HoldAsync(http.Principal().Actor, id, http.RequestAborted)))
            .Requires(Operation.QueueManage);
        api.MapPost("/queue/{id:long}/release", (HttpContext http, long id) => Run(() => ctx.Queue.ReleaseAsync(http.Principal().Actor, id, http.RequestAborted)))
            .Requires(Operation.QueueManage);
        api.MapPost("/queue/{id:long}/retry", (HttpContext http, long id) => Run(() => ctx.Queue.RetryAsync(http.Principal().Actor, id, http.RequestAborted)))
            .Requires(Operation.QueueManage);
        api.MapDelete("/queue/{id:long}", (HttpContext http, long id) => Run(() => ctx.Queue.DeleteAsync(http.Principal().Actor, id, http.RequestAborted)))
            .Requires(Operation.QueueManage);

        api.MapPost("/backups", async (HttpContext http, CancellationToken _) =>
        {
            var made = await (ctx.Backups ?? throw Sealpost.Core.SealpostException.Invalid("backups are not available on this server")).CreateAsync(http.Principal().Actor, http.RequestAborted);
            return Results.Json(new BackupResponse(made.Name, made.Path, made.Files, made.Bytes), ApiPipeline.Json, statusCode: StatusCodes.Status201Created);
        }).Requires(Operation.BackupCreate).Produces<BackupResponse>(StatusCodes.Status201Created);

        api.MapGet("/audit", async (HttpContext http, [FromQuery] string? actor, [FromQuery] string? action, [FromQuery] string? target,
            [FromQuery] DateTimeOffset? since, [FromQuery] DateTimeOffset? until, [FromQuery] long? after, [FromQuery] int? limit) =>
        {
            AuditAction? parsed = null;
            if (action is not null)
            {
                parsed = Enum.TryParse<AuditAction>(action, ignoreCase: true, out var a) && Enum.IsDefined(a)
                    ? a
                    : throw ApiInputException.Field("action", "not an audit action (e.g. LoginFailed, AccountCreated)");
            }

            var size = limit ?? 100;
            if (size < 1 || size > ctx.MaxPageSize)
            {
                throw ApiInputException.Field("limit", $"between 1 and {ctx.MaxPageSize}");
            }

            var records = await ctx.Audit.SearchAsync(http.Principal().Actor, new AuditQuery(actor, parsed, target, since, until, after ?? 0, size), http.RequestAborted);
            var next = records.Count == size ? records[^1].Sequence.ToString(System.Globalization.CultureInfo.InvariantCulture) : null;
            return Results.Json(new Page<AuditRecordResponse>(records.Select(Dto.Audit).ToList(), next), ApiPipeline.Json);
        }).Requires(Operation.AuditRead).Produces<Page<AuditRecordResponse>>();

        api.MapGet("/audit/export", async (HttpContext http, [FromQuery] DateTimeOffset? from, [FromQuery] DateTimeOffset? to) =>
        {
            var (records, head) = await ctx.Audit.ExportAsync(http.Principal().Actor, from, to, http.RequestAborted);
            return Results.Json(new { records = records.Select(Dto.Audit).ToList(), head }, ApiPipeline.Json);
        }).Requires(Operation.AuditRead);

        api.MapGet("/audit/head", async (HttpContext http, CancellationToken _) =>
            Results.Json(await ctx.Audit.HeadsAsync(http.Principal().Actor, http.RequestAborted), ApiPipeline.Json))
            .Requires(Operation.AuditRead);
    }

    private static async Task<IResult> Run(Func<Task> action)
    {
        await action();
        return Results.NoContent();
    }
}
