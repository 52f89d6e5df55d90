if (!exists("fmt")) fmt = "png"
if (fmt eq "svg") { set terminal svg size 1100,600 dynamic enhanced font "sans,11" } else { set terminal pngcairo size 1100,600 enhanced font "sans,10" }
set output "cosine.".fmt
set grid
set multiplot layout 1,2
set key below maxrows 4
set xlabel "epoch of the reference run (checkpoint)"; set ylabel "cos(g, g*) behind the DEQ"
set title "exact gradient at adjoint tolerances, Jacobian-free, SHINE"
plot "cosine-implicit-adjoint-1e-4.dat" using 1:2:3 with yerrorlines title "implicit adjoint 1e-4", "cosine-implicit-adjoint-1e-1.dat" using 1:2:3 with yerrorlines title "implicit adjoint 1e-1", "cosine-implicit-adjoint-3e-2.dat" using 1:2:3 with yerrorlines title "implicit adjoint 3e-2", "cosine-implicit-adjoint-1e-2.dat" using 1:2:3 with yerrorlines title "implicit adjoint 1e-2", "cosine-implicit-adjoint-1e-3.dat" using 1:2:3 with yerrorlines title "implicit adjoint 1e-3", "cosine-implicit-adjoint-1e-6.dat" using 1:2:3 with yerrorlines title "implicit adjoint 1e-6", "cosine-jfb.dat" using 1:2:3 with yerrorlines title "jfb", "cosine-shine-broyden-forward.dat" using 1:2:3 with yerrorlines title "shine (Broyden forward)"
set title "phantom gradient (k unrolled steps, damping λ)"
plot "cosine-phantom-k-1-0.5.dat" using 1:2:3 with yerrorlines title "phantom k=1 λ=0.5", "cosine-phantom-k-1-1.dat" using 1:2:3 with yerrorlines title "phantom k=1 λ=1", "cosine-phantom-k-5-0.5.dat" using 1:2:3 with yerrorlines title "phantom k=5 λ=0.5", "cosine-phantom-k-5-1.dat" using 1:2:3 with yerrorlines title "phantom k=5 λ=1", "cosine-phantom-k-10-0.5.dat" using 1:2:3 with yerrorlines title "phantom k=10 λ=0.5", "cosine-phantom-k-10-1.dat" using 1:2:3 with yerrorlines title "phantom k=10 λ=1"
unset multiplot
