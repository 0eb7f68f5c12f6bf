namespace Sealpost.Tests.Support;

/// <summary>
/// Tests that change process-wide state (environment variables) run alone, so a parallel test
/// never reads the environment half-changed.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessEnvironmentCollection
{
    public const string Name = "process environment";
}
