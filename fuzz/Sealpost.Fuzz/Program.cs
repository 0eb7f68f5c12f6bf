using Sealpost.Fuzz;

// sealpost-fuzz: the parser fuzz targets as AFL++ runs them (scripts/fuzz-afl.sh).
//   sealpost-fuzz list                  the targets, one per line
//   sealpost-fuzz seeds TARGET FOLDER   writes TARGET's seed inputs into FOLDER (AFL's -i)
//   sealpost-fuzz run TARGET            one input per AFL execution, from standard input, with
//                                       SharpFuzz's coverage of the instrumented Sealpost assemblies
//   sealpost-fuzz replay TARGET FILE    runs one input outside AFL (a crash found, to see its exception)
if (args is ["list"])
{
    foreach (var name in FuzzTargets.All.Keys)
    {
        Console.WriteLine(name);
    }

    return 0;
}

if (args is ["run", var fuzzed])
{
    // Nothing instrumented may run before SharpFuzz has attached AFL's coverage map, not even the
    // targets' table: the target is looked up inside the run. An exception other than the parser's
    // own refusal escapes, and AFL records the input as a crash.
    SharpFuzz.Fuzzer.OutOfProcess.Run(stream =>
    {
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        FuzzTargets.RunOne(fuzzed, copy.ToArray());
    });
    return 0;
}

if (args is not [var verb, var target, ..] || !FuzzTargets.All.ContainsKey(target))
{
    Console.Error.WriteLine("usage: sealpost-fuzz list | seeds TARGET FOLDER | run TARGET | replay TARGET FILE (targets: sealpost-fuzz list)");
    return 2;
}

switch (verb)
{
    case "seeds" when args.Length == 3:
        Directory.CreateDirectory(args[2]);
        var seeds = FuzzTargets.All[target].SeedBytes;
        for (var i = 0; i < seeds.Count; i++)
        {
            File.WriteAllBytes(Path.Combine(args[2], $"seed-{i:D2}"), seeds[i]);
        }

        return 0;
    case "replay" when args.Length == 3:
        FuzzTargets.RunOne(target, File.ReadAllBytes(args[2]));
        Console.WriteLine("no failure");
        return 0;
    default:
        Console.Error.WriteLine("usage: sealpost-fuzz list | seeds TARGET FOLDER | run TARGET | replay TARGET FILE");
        return 2;
}
